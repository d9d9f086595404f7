// Package session keeps the portal's sign-in sessions and its sealed
// cookies.
//
// A sign-in session lives server-side (Redis when configured — Redis holds
// what can be lost, and a lost session only means signing in again — or
// memory otherwise), sealed with the platform keyring: Redis never sees a
// token or a name in clear, and its key is a keyed hash of the cookie
// value, so reading Redis does not give anyone a cookie. The browser holds
// only a random id in an HttpOnly cookie. Sessions end after an idle time
// and after a maximum age, whichever comes first, and on logout.
//
// Short-lived state that must survive one redirect (the OIDC sign-in
// state) or that must not exist server-side at all (the anonymous inbox
// credentials) travels in sealed cookies: encrypted and authenticated
// under the keyring, bound to their purpose, with an expiry inside.
package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deiops/deiops/pkg/crypto"
)

// Store holds sealed session records by key. Implementations must be safe
// for concurrent use; a missing or expired key is (nil, false, nil).
type Store interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
}

// Data is what a sign-in session knows. Name and the tokens are restricted:
// they only ever leave the process sealed.
type Data struct {
	Subject     string    `json:"sub"`
	Name        string    `json:"name,omitempty"`
	Roles       []string  `json:"roles,omitempty"`
	AccessToken string    `json:"at"`
	IDToken     string    `json:"idt,omitempty"`
	TokenExpiry time.Time `json:"exp"`
	Lang        string    `json:"lang,omitempty"`
}

// record is the stored form of a session.
type record struct {
	Data     Data      `json:"d"`
	Created  time.Time `json:"c"`
	LastSeen time.Time `json:"l"`
}

// Session is a loaded sign-in session.
type Session struct {
	ID      string // the cookie value; never log it
	Data    Data
	Created time.Time
}

// Options configures a Manager.
type Options struct {
	Store  Store
	Sealer *crypto.Keyring
	Hasher *crypto.Hasher
	// Idle ends a session nobody used for this long; Max ends any session.
	Idle, Max time.Duration
	// Secure marks cookies Secure (and names them __Host-); off only for a
	// portal served over plain http on loopback.
	Secure bool
	Now    func() time.Time
}

// Manager loads, saves and ends sessions.
type Manager struct {
	o          Options
	cookieName string
}

// New checks o.
func New(o Options) (*Manager, error) {
	if o.Store == nil || o.Sealer == nil || o.Hasher == nil {
		return nil, errors.New("session: a store, a sealer and a hasher are required")
	}
	if o.Idle <= 0 || o.Max < o.Idle {
		return nil, fmt.Errorf("session: idle %s and max %s are not a valid pair", o.Idle, o.Max)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Manager{o: o, cookieName: CookieName("deiops-session", o.Secure)}, nil
}

// CookieName prefixes name with __Host- when the cookie is Secure: the
// browser then refuses it from any subdomain or path other than /.
func CookieName(name string, secure bool) string {
	if secure {
		return "__Host-" + name
	}
	return name
}

// Secure reports whether cookies are Secure.
func (m *Manager) Secure() bool { return m.o.Secure }

// Idle is the idle timeout.
func (m *Manager) Idle() time.Duration { return m.o.Idle }

func (m *Manager) key(id string) string {
	return "deiops:portal:session:" + m.o.Hasher.Hash("portal-session", id)
}

func (m *Manager) aad(id string) []byte {
	return crypto.AAD("portal-session", m.o.Hasher.Hash("portal-session", id))
}

// Load returns the request's session, or nil when it has none or it ended.
// A session in use has its idle clock restarted.
func (m *Manager) Load(r *http.Request) (*Session, error) {
	c, err := r.Cookie(m.cookieName)
	if err != nil || len(c.Value) != 43 {
		return nil, nil
	}
	ctx := r.Context()
	sealed, ok, err := m.o.Store.Get(ctx, m.key(c.Value))
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if !ok {
		return nil, nil
	}
	plain, err := m.o.Sealer.Open(sealed, m.aad(c.Value))
	if err != nil {
		return nil, nil // altered, or sealed under a key that left the ring
	}
	var rec record
	if err := json.Unmarshal(plain, &rec); err != nil {
		return nil, nil
	}
	now := m.o.Now()
	if now.Sub(rec.LastSeen) >= m.o.Idle || now.Sub(rec.Created) >= m.o.Max {
		_ = m.o.Store.Delete(ctx, m.key(c.Value))
		return nil, nil
	}
	// Writing on every request would cost a round trip each; a minute of
	// slack on a timeout of many minutes is not worth it.
	if now.Sub(rec.LastSeen) > time.Minute/2 {
		rec.LastSeen = now
		if err := m.put(ctx, c.Value, rec); err != nil {
			return nil, err
		}
	}
	return &Session{ID: c.Value, Data: rec.Data, Created: rec.Created}, nil
}

// Start creates a new session for d (a new id every sign-in, so an id
// planted before sign-in is worthless) and sets its cookie.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, d Data) error {
	id, err := randomID()
	if err != nil {
		return err
	}
	now := m.o.Now()
	if err := m.put(ctx, id, record{Data: d, Created: now, LastSeen: now}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: m.cookieName, Value: id, Path: "/", HttpOnly: true, Secure: m.o.Secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// Update replaces the data of s (e.g. a chosen language).
func (m *Manager) Update(ctx context.Context, s *Session) error {
	return m.put(ctx, s.ID, record{Data: s.Data, Created: s.Created, LastSeen: m.o.Now()})
}

// End deletes the session and its cookie.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.o.Secure, SameSite: http.SameSiteLaxMode})
	c, err := r.Cookie(m.cookieName)
	if err != nil {
		return nil
	}
	if err := m.o.Store.Delete(ctx, m.key(c.Value)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func (m *Manager) put(ctx context.Context, id string, rec record) error {
	plain, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	sealed, err := m.o.Sealer.Seal(plain, m.aad(id))
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	ttl := min(m.o.Idle, m.o.Max-m.o.Now().Sub(rec.Created))
	if ttl <= 0 {
		return m.o.Store.Delete(ctx, m.key(id))
	}
	if err := m.o.Store.Set(ctx, m.key(id), sealed, ttl); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// MemoryStore keeps sessions in the process: for a single process
// without Redis (sessions end when it restarts).
type MemoryStore struct {
	mu      sync.Mutex
	entries map[string]memEntry
	now     func() time.Time
}

type memEntry struct {
	value   []byte
	expires time.Time
}

// maxMemorySessions bounds the memory a flood of sign-ins can take.
const maxMemorySessions = 100_000

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{entries: map[string]memEntry{}, now: time.Now}
}

func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || !s.now().Before(e.expires) {
		delete(s.entries, key)
		return nil, false, nil
	}
	return append([]byte(nil), e.value...), true, nil
}

func (s *MemoryStore) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.entries) >= maxMemorySessions {
		for k, e := range s.entries {
			if !now.Before(e.expires) {
				delete(s.entries, k)
			}
		}
		if len(s.entries) >= maxMemorySessions {
			return errors.New("session store full")
		}
	}
	s.entries[key] = memEntry{value: append([]byte(nil), value...), expires: now.Add(ttl)}
	return nil
}

func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, key)
	return nil
}

// RedisStore keeps sessions in Redis, shared by every portal replica.
type RedisStore struct{ c redis.UniversalClient }

// NewRedisStore uses c.
func NewRedisStore(c redis.UniversalClient) *RedisStore { return &RedisStore{c: c} }

func (s *RedisStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := s.c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis get session: %w", err)
	}
	return b, true, nil
}

func (s *RedisStore) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.c.Set(ctx, key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set session: %w", err)
	}
	return nil
}

func (s *RedisStore) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("redis delete session: %w", err)
	}
	return nil
}
