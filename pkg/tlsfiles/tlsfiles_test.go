package tlsfiles_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/deiops/deiops/pkg/tlsfiles"
)

func writePEM(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePEM(t, dir)
	tc, err := tlsfiles.Load(tlsfiles.Files{CA: cert, Cert: cert, Key: key, ServerName: "nats.internal"})
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "nats.internal" {
		t.Fatalf("config %+v", tc)
	}
	bad := filepath.Join(dir, "empty.pem")
	_ = os.WriteFile(bad, []byte("not pem"), 0o600)
	for name, f := range map[string]tlsfiles.Files{
		"ca without certificates": {CA: bad},
		"missing ca":              {CA: filepath.Join(dir, "nope.pem")},
		"cert without key":        {Cert: cert},
		"unreadable pair":         {Cert: bad, Key: bad},
	} {
		if _, err := tlsfiles.Load(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
