package auth

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	// DefaultDevIssuer is the iss of development tokens.
	DefaultDevIssuer = "https://deiops.dev.local/issuer"
	devAlgorithm     = jose.ES256
	devKeyPEMType    = "PRIVATE KEY"
)

// DevIssuerOptions configures NewDevIssuer; zero values take defaults.
type DevIssuerOptions struct {
	// Issuer is the iss claim; default DefaultDevIssuer.
	Issuer string
	// Aliases are further iss values signed with the same key, e.g. the URL
	// at which deiops dev serves it as an OpenID provider (that URL can
	// change between runs with the port, while tokens minted by
	// `deiops token` keep Issuer). Verifiers in dev mode accept them all.
	Aliases []string
	// Audience is the aud claim; default "deiops".
	Audience string
	// RoleClaim is where roles go, a dotted path as in config.Auth; default "roles".
	RoleClaim string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DevIssuer mints tokens for `deiops dev` and tests, signed with an ES256
// key kept in a file so that tokens survive restarts and other processes
// (`deiops token`) can mint them. Never trust it in production.
type DevIssuer struct {
	issuer, audience, roleClaim string
	aliases                     []string
	now                         func() time.Time
	kid                         string
	signer                      jose.Signer
	public                      jose.JSONWebKey
	jwks                        []byte
}

// NewDevIssuer loads the P-256 private key at keyFile, creating it (mode
// 0600, directory 0700) when it does not exist. An empty keyFile keeps a new
// key in memory only. A key file readable by group or others is refused.
func NewDevIssuer(keyFile string, opts DevIssuerOptions) (*DevIssuer, error) {
	if opts.Issuer == "" {
		opts.Issuer = DefaultDevIssuer
	}
	if opts.Audience == "" {
		opts.Audience = "deiops"
	}
	if opts.RoleClaim == "" {
		opts.RoleClaim = "roles"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var key *ecdsa.PrivateKey
	var err error
	if keyFile == "" {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = loadOrCreateDevKey(keyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}

	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(devAlgorithm), Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	if err != nil {
		return nil, fmt.Errorf("dev issuer: marshal jwks: %w", err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: devAlgorithm, Key: jose.JSONWebKey{Key: key, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("dev issuer: signer: %w", err)
	}
	return &DevIssuer{
		issuer: opts.Issuer, aliases: append([]string(nil), opts.Aliases...), audience: opts.Audience, roleClaim: opts.RoleClaim, now: opts.Now,
		kid: pub.KeyID, signer: signer, public: pub, jwks: jwks,
	}, nil
}

// Issuer is the iss of minted tokens.
func (d *DevIssuer) Issuer() string { return d.issuer }

// Issuers are every iss value this issuer signs: Issuer, then the aliases.
func (d *DevIssuer) Issuers() []string { return append([]string{d.issuer}, d.aliases...) }

// As returns a copy of d that mints tokens with iss, which must be one of
// Issuers. It shares the key.
func (d *DevIssuer) As(iss string) (*DevIssuer, error) {
	if !slices.Contains(d.Issuers(), iss) {
		return nil, fmt.Errorf("dev issuer: %q is not one of its issuers", iss)
	}
	c := *d
	c.issuer = iss
	c.aliases = nil
	for _, a := range d.Issuers() {
		if a != iss {
			c.aliases = append(c.aliases, a)
		}
	}
	return &c, nil
}

// Audience is the aud of minted tokens.
func (d *DevIssuer) Audience() string { return d.audience }

// Now is the issuer's clock.
func (d *DevIssuer) Now() time.Time { return d.now() }

// KeyID is the kid of the signing key (its RFC 7638 thumbprint).
func (d *DevIssuer) KeyID() string { return d.kid }

// Mint signs an access token for sub with roles, valid for ttl.
func (d *DevIssuer) Mint(sub string, roles []string, ttl time.Duration) (string, error) {
	return d.MintWith(sub, roles, ttl, MintOptions{})
}

// MintOptions adjusts MintWith.
type MintOptions struct {
	// Audience replaces the issuer's audience (an ID token is for the client).
	Audience string
	// Extra claims (azp, nonce, name, ...); they never override iss, sub,
	// aud, exp, nbf, iat, jti or the role claim.
	Extra map[string]any
}

// MintWith is Mint with the options an OpenID provider needs.
func (d *DevIssuer) MintWith(sub string, roles []string, ttl time.Duration, o MintOptions) (string, error) {
	if sub == "" {
		return "", fmt.Errorf("mint dev token: subject is required")
	}
	if ttl <= 0 {
		return "", fmt.Errorf("mint dev token: ttl must be positive")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("mint dev token: %w", err)
	}
	now := d.now()
	std := jwt.Claims{
		Issuer:    d.issuer,
		Subject:   sub,
		Audience:  jwt.Audience{cmp.Or(o.Audience, d.audience)},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(now.Add(ttl)),
		ID:        hex.EncodeToString(jti[:]),
	}
	if roles == nil {
		roles = []string{}
	}
	b := jwt.Signed(d.signer)
	if len(o.Extra) > 0 {
		b = b.Claims(o.Extra)
	}
	tok, err := b.Claims(std).Claims(nestClaim(d.roleClaim, roles)).Serialize()
	if err != nil {
		return "", fmt.Errorf("mint dev token: %w", err)
	}
	return tok, nil
}

// KeySet is the public verification key, for NewStaticKeys.
func (d *DevIssuer) KeySet() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{d.public}}
}

// JWKS is the public key set document (no private parameters).
func (d *DevIssuer) JWKS() []byte { return append([]byte(nil), d.jwks...) }

// JWKSHandler serves JWKS, for tools that want a JWKS URL.
func (d *DevIssuer) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(d.jwks)
	})
}

// nestClaim places value at a dotted path, matching how the Verifier reads it.
func nestClaim(path string, value any) map[string]any {
	segs := strings.Split(path, ".")
	out := map[string]any{}
	cur := out
	for _, s := range segs[:len(segs)-1] {
		next := map[string]any{}
		cur[s] = next
		cur = next
	}
	cur[segs[len(segs)-1]] = value
	return out
}

func loadOrCreateDevKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := loadDevKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key directory: %w", err)
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	// O_EXCL: if another process created the file meanwhile, use its key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadDevKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: devKeyPEMType, Bytes: der})
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("write key file %s: %w", path, werr)
	}
	return key, nil
}

func loadDevKey(path string) (*ecdsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dev key file: %w", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("dev key file %s has mode %04o; run chmod 600 on it", path, info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dev key file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != devKeyPEMType {
		return nil, fmt.Errorf("dev key file %s: want a PEM %q block", path, devKeyPEMType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev key file %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("dev key file %s: want a P-256 ECDSA key", path)
	}
	return key, nil
}
