package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/deiops/deiops/pkg/crypto"
)

// SealedCookie is a cookie whose value is a sealed JSON document: only
// this platform's keyring can read or forge it, and its purpose is bound
// into the seal so one kind cannot stand in for another.
type SealedCookie struct {
	Name     string // as sent (with __Host- when Secure and Path is /)
	Purpose  string
	Path     string
	SameSite http.SameSite
	Secure   bool
	// TTL is the cookie's life from the last Set; the expiry is also
	// sealed inside, so a browser that keeps it longer gains nothing.
	TTL    time.Duration
	Sealer *crypto.Keyring
	Now    func() time.Time
}

type envelope struct {
	Exp  time.Time       `json:"exp"`
	Body json.RawMessage `json:"b"`
}

func (c *SealedCookie) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Set seals v into the cookie, valid for TTL from now.
func (c *SealedCookie) Set(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("seal %s cookie: %w", c.Purpose, err)
	}
	plain, err := json.Marshal(envelope{Exp: c.now().Add(c.TTL), Body: body})
	if err != nil {
		return fmt.Errorf("seal %s cookie: %w", c.Purpose, err)
	}
	sealed, err := c.Sealer.Seal(plain, crypto.AAD("portal-cookie", c.Purpose))
	if err != nil {
		return fmt.Errorf("seal %s cookie: %w", c.Purpose, err)
	}
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: base64.RawURLEncoding.EncodeToString(sealed), Path: c.Path,
		MaxAge: int(c.TTL / time.Second), HttpOnly: true, Secure: c.Secure, SameSite: c.SameSite})
	return nil
}

// ErrNoCookie means the request carries no valid, unexpired cookie.
var ErrNoCookie = errors.New("no valid cookie")

// Get opens the request's cookie into v.
func (c *SealedCookie) Get(r *http.Request, v any) error {
	ck, err := r.Cookie(c.Name)
	if err != nil || len(ck.Value) > 3800 {
		return ErrNoCookie
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return ErrNoCookie
	}
	plain, err := c.Sealer.Open(sealed, crypto.AAD("portal-cookie", c.Purpose))
	if err != nil {
		return ErrNoCookie
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil || !c.now().Before(env.Exp) {
		return ErrNoCookie
	}
	if err := json.Unmarshal(env.Body, v); err != nil {
		return ErrNoCookie
	}
	return nil
}

// Clear deletes the cookie.
func (c *SealedCookie) Clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: c.Path, MaxAge: -1, HttpOnly: true, Secure: c.Secure, SameSite: c.SameSite})
}
