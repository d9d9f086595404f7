// Package config loads deiops settings from DEIOPS_* environment variables.
//
// Every setting has a default and a description; the same declarations produce
// `deiops config` output and the README table. Standard OTEL_* variables are
// left to the OpenTelemetry SDK and are not repeated here.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/deiops/deiops/pkg/events"
)

// Prefix is the environment prefix of every deiops setting.
const Prefix = "DEIOPS"

// Config is the whole configuration of one deiops process.
type Config struct {
	Target       string        `envconfig:"TARGET" default:"all" desc:"Which service targets this process runs: all, or a comma-separated list of awareness, connection, resolution, portal"`
	Installation string        `envconfig:"INSTALLATION" default:"deiops" desc:"Name of this installation (lowercase letters, digits, '.', '_', '-'); every event's ce-source is /<installation>/<service> (or /<installation>/platform), whichever process publishes it"`
	HTTPAddr     string        `envconfig:"HTTP_ADDR" default:":8080" desc:"Listen address of the HTTP API (every target of the process shares it)"`
	LogLevel     string        `envconfig:"LOG_LEVEL" default:"info" desc:"Log level: debug, info, warn, error"`
	LogFormat    string        `envconfig:"LOG_FORMAT" default:"json" desc:"Log format: json or text"`
	ShutdownTTL  time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"How long graceful shutdown may take before the process exits"`

	NATS       NATS
	Temporal   Temporal
	Redis      Redis
	HTTP       HTTP
	Auth       Auth
	Crypto     Crypto
	Privacy    Privacy
	Notify     Notify
	Resolution Resolution
	Portal     Portal
}

// NATS configures the connection to NATS JetStream, the system of record.
type NATS struct {
	URL              string          `envconfig:"URL" default:"nats://127.0.0.1:4222" desc:"NATS server URL(s), comma-separated"`
	CredsFile        string          `envconfig:"CREDS_FILE" desc:"Path to a NATS credentials (.creds) file"`
	User             string          `envconfig:"USER" desc:"NATS user (when not using a creds file)"`
	Password         string          `envconfig:"PASSWORD" desc:"NATS password"`
	TLSCA            string          `envconfig:"TLS_CA" desc:"PEM file of the CA that signs the NATS server certificate"`
	TLSCert          string          `envconfig:"TLS_CERT" desc:"PEM client certificate for mutual TLS"`
	TLSKey           string          `envconfig:"TLS_KEY" desc:"PEM client key for mutual TLS"`
	Replicas         int             `envconfig:"REPLICAS" default:"1" desc:"Replicas of every stream and KV bucket (3 in a production cluster)"`
	DuplicateWindow  time.Duration   `envconfig:"DUPLICATE_WINDOW" default:"2m" desc:"JetStream de-duplication window for Nats-Msg-Id"`
	MaxAge           time.Duration   `envconfig:"MAX_AGE" default:"8760h" desc:"How long event streams keep messages"`
	PublishAttempts  int             `envconfig:"PUBLISH_ATTEMPTS" default:"8" desc:"Attempts to obtain a PubAck before a publish fails"`
	AckWait          time.Duration   `envconfig:"ACK_WAIT" default:"30s" desc:"How long a consumer may hold a message before it is redelivered"`
	MaxDeliver       int             `envconfig:"MAX_DELIVER" default:"5" desc:"Deliveries of one message before it goes to the dead-letter stream"`
	Backoff          []time.Duration `envconfig:"BACKOFF" default:"1s,5s,30s,2m" desc:"Redelivery delays after a retryable handler error"`
	ProvisionOnStart bool            `envconfig:"PROVISION" default:"true" desc:"Create or update streams, KV buckets and consumers at start-up (idempotent)"`
}

// Temporal configures the Temporal client and workers.
type Temporal struct {
	Address         string `envconfig:"ADDRESS" default:"127.0.0.1:7233" desc:"Temporal frontend host:port"`
	Namespace       string `envconfig:"NAMESPACE" default:"default" desc:"Temporal namespace"`
	TLS             bool   `envconfig:"TLS" default:"false" desc:"Use TLS to reach Temporal"`
	TLSCA           string `envconfig:"TLS_CA" desc:"PEM file of the CA that signs the Temporal frontend certificate"`
	TLSCert         string `envconfig:"TLS_CERT" desc:"PEM client certificate for mutual TLS"`
	TLSKey          string `envconfig:"TLS_KEY" desc:"PEM client key for mutual TLS"`
	ServerName      string `envconfig:"TLS_SERVER_NAME" desc:"Server name to verify in the Temporal certificate"`
	APIKey          string `envconfig:"API_KEY" desc:"API key for Temporal Cloud or a server that checks keys"`
	TaskQueuePrefix string `envconfig:"TASK_QUEUE_PREFIX" default:"deiops" desc:"Prefix of every task queue (one queue per target)"`
}

// Redis configures the cache, idempotency and rate-limit store.
type Redis struct {
	URL string `envconfig:"URL" desc:"Redis URL (redis:// or rediss://); empty in dev means an in-process Redis-protocol server"`
}

// HTTP configures request handling limits.
type HTTP struct {
	MaxBodyBytes   int64         `envconfig:"MAX_BODY_BYTES" default:"1048576" desc:"Largest accepted request body in bytes (larger answers 413)"`
	ReadTimeout    time.Duration `envconfig:"READ_TIMEOUT" default:"15s" desc:"Time allowed to read a whole request"`
	WriteTimeout   time.Duration `envconfig:"WRITE_TIMEOUT" default:"30s" desc:"Time allowed to write a response"`
	RateLimit      int           `envconfig:"RATE_LIMIT" default:"600" desc:"Requests per minute allowed per client (GCRA)"`
	RateBurst      int           `envconfig:"RATE_BURST" default:"100" desc:"Burst above the steady rate per client"`
	IdempotencyTTL time.Duration `envconfig:"IDEMPOTENCY_TTL" default:"24h" desc:"How long a POST result is replayed for the same Idempotency-Key"`
	PublicURL      string        `envconfig:"PUBLIC_URL" default:"http://localhost:8080" desc:"External base URL used in links (notifications, OpenAPI servers)"`
	TrustedProxies []string      `envconfig:"TRUSTED_PROXIES" default:"127.0.0.0/8,::1/128" desc:"Peers (CIDRs) whose X-Forwarded-For names the client address that rate limits key on, e.g. the portal or an ingress; others are the client themselves"`
}

// TrustedProxyPrefixes parses TrustedProxies; a bare address is a
// single-address prefix.
func (h HTTP) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range h.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Auth configures OIDC bearer-token verification.
type Auth struct {
	Issuer     string        `envconfig:"ISSUER" desc:"Expected iss claim; required unless DEIOPS_AUTH_DEV is true"`
	Audience   string        `envconfig:"AUDIENCE" default:"deiops" desc:"Expected aud claim"`
	JWKSURL    string        `envconfig:"JWKS_URL" desc:"URL of the issuer's JSON Web Key Set"`
	Algorithms []string      `envconfig:"ALGORITHMS" default:"RS256,ES256" desc:"Accepted signature algorithms (none is never accepted)"`
	RoleClaim  string        `envconfig:"ROLE_CLAIM" default:"roles" desc:"Claim holding the user's roles (dotted path for nested claims)"`
	Leeway     time.Duration `envconfig:"LEEWAY" default:"30s" desc:"Clock skew allowed for exp and nbf"`
	Dev        bool          `envconfig:"DEV" default:"false" desc:"Trust the built-in development issuer (never in production)"`
	DevKeyFile string        `envconfig:"DEV_KEY_FILE" desc:"Private key file of the development issuer (deiops dev writes one)"`
}

// Crypto configures field encryption and the Temporal payload codec.
type Crypto struct {
	Keyring string `envconfig:"KEYRING" desc:"Encryption keys as id:base64(32 bytes), comma-separated; the first is used for new writes"`
}

// Privacy configures data-protection settings shared by every service.
type Privacy struct {
	MinCellSize int    `envconfig:"MIN_CELL_SIZE" default:"5" desc:"Smallest group any aggregate may show (smaller cells are suppressed)"`
	HMACSecret  string `envconfig:"HMAC_SECRET" desc:"Server secret for keyed hashes of identifiers (base64, at least 32 bytes)"`
}

// Resolution configures the resolution service's data retention.
type Resolution struct {
	Retention       time.Duration `envconfig:"RETENTION" default:"61320h" desc:"How long a closed case is kept before secure deletion (default 7 years); a legal hold blocks deletion"`
	RetentionByType string        `envconfig:"RETENTION_BY_CATEGORY" desc:"Retention per case category overriding DEIOPS_RESOLUTION_RETENTION, e.g. microaggression:26280h,retaliation:87600h"`
	RetentionSweep  time.Duration `envconfig:"RETENTION_SWEEP" default:"1h" desc:"How often closed cases past their retention are looked for"`
}

// RetentionFor returns the retention of a case category.
func (r Resolution) RetentionFor(category string) time.Duration {
	if d, ok := r.retentionByType()[category]; ok {
		return d
	}
	return r.Retention
}

func (r Resolution) retentionByType() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, kv := range strings.Split(r.RetentionByType, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
		if !ok {
			continue
		}
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			out[strings.TrimSpace(k)] = d
		}
	}
	return out
}

func (r Resolution) problems() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	if r.Retention <= 0 {
		bad("RESOLUTION_RETENTION", "must be positive")
	}
	if r.RetentionSweep <= 0 {
		bad("RESOLUTION_RETENTION_SWEEP", "must be positive")
	}
	if strings.TrimSpace(r.RetentionByType) == "" {
		return errs
	}
	for _, kv := range strings.Split(r.RetentionByType, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if !ok || strings.TrimSpace(k) == "" || err != nil || d <= 0 {
			bad("RESOLUTION_RETENTION_BY_CATEGORY", "%q is not category:duration with a positive duration", strings.TrimSpace(kv))
		}
	}
	return errs
}

// Notify configures delivery of notifications (generic text and a link,
// never content) by email and webhook. With neither configured,
// notifications are only logged (development).
type Notify struct {
	SMTPAddr      string        `envconfig:"SMTP_ADDR" desc:"SMTP server host:port for notification email; empty disables email"`
	SMTPFrom      string        `envconfig:"SMTP_FROM" default:"deiops <no-reply@localhost>" desc:"Sender of notification email (RFC 5322 address)"`
	SMTPUsername  string        `envconfig:"SMTP_USERNAME" desc:"SMTP user (PLAIN authentication, sent only over TLS or to localhost)"`
	SMTPPassword  string        `envconfig:"SMTP_PASSWORD" desc:"SMTP password"`
	SMTPStartTLS  string        `envconfig:"SMTP_STARTTLS" default:"auto" desc:"STARTTLS: auto (when the server offers it), always (never send without it), never"`
	WebhookURL    string        `envconfig:"WEBHOOK_URL" desc:"http(s) URL that receives every notification as signed JSON; empty disables the webhook"`
	WebhookSecret string        `envconfig:"WEBHOOK_SECRET" desc:"Secret of the webhook's Deiops-Signature HMAC (at least 16 bytes); required with WEBHOOK_URL"`
	FallbackEmail string        `envconfig:"FALLBACK_EMAIL" desc:"Address of notifications nobody eligible could be named for, e.g. the DEI office"`
	Timeout       time.Duration `envconfig:"TIMEOUT" default:"10s" desc:"Time allowed for one delivery attempt of one channel"`
}

// installationName is one URI path segment, so that the ce-source stays a
// plain URI-reference.
var installationName = regexp.MustCompile(`^` + events.InstallationPattern + `$`)

// Portal configures the web portal target: staff sign-in with OIDC
// (authorization code + PKCE, a confidential client), its sessions, and
// the API it calls on behalf of people.
type Portal struct {
	APIURL       string        `envconfig:"API_URL" desc:"Base URL of the HTTP API the portal calls for people; empty means this process's own address (target all)"`
	PublicURL    string        `envconfig:"PUBLIC_URL" desc:"External base URL of the portal (sign-in redirect, secure cookies); empty means DEIOPS_HTTP_PUBLIC_URL"`
	IssuerURL    string        `envconfig:"ISSUER_URL" desc:"OIDC issuer staff sign in with (discovery at /.well-known/openid-configuration); empty turns staff sign-in off (anonymous reporting still works)"`
	ClientID     string        `envconfig:"CLIENT_ID" default:"deiops-portal" desc:"OIDC client id of the portal"`
	ClientSecret string        `envconfig:"CLIENT_SECRET" desc:"OIDC client secret of the portal (a confidential client); required with ISSUER_URL"`
	Scopes       []string      `envconfig:"SCOPES" default:"openid,profile" desc:"Scopes asked for at sign-in; the access token must carry the API audience (DEIOPS_AUTH_AUDIENCE)"`
	SessionIdle  time.Duration `envconfig:"SESSION_IDLE" default:"15m" desc:"Idle time after which a sign-in session or an open anonymous inbox ends"`
	SessionMax   time.Duration `envconfig:"SESSION_MAX" default:"8h" desc:"Longest a sign-in session lasts, however active"`
	TimeZone     string        `envconfig:"TIME_ZONE" default:"UTC" desc:"IANA time zone of the hospital: times reporters type and dates the portal shows"`
	APITimeout   time.Duration `envconfig:"API_TIMEOUT" default:"10s" desc:"Time allowed for one API call of the portal"`
}

func (p Portal) problems() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	absolute := func(name, v string) {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "must be an absolute http:// or https:// URL")
		}
	}
	if p.APIURL != "" {
		absolute("PORTAL_API_URL", p.APIURL)
	}
	if p.PublicURL != "" {
		absolute("PORTAL_PUBLIC_URL", p.PublicURL)
	}
	if p.IssuerURL != "" {
		absolute("PORTAL_ISSUER_URL", p.IssuerURL)
		if p.ClientID == "" {
			bad("PORTAL_CLIENT_ID", "required with DEIOPS_PORTAL_ISSUER_URL")
		}
		if p.ClientSecret == "" {
			bad("PORTAL_CLIENT_SECRET", "required with DEIOPS_PORTAL_ISSUER_URL: the portal is a confidential client")
		}
	}
	if p.SessionIdle < time.Minute {
		bad("PORTAL_SESSION_IDLE", "must be at least 1m")
	}
	if p.SessionMax < p.SessionIdle {
		bad("PORTAL_SESSION_MAX", "must be at least DEIOPS_PORTAL_SESSION_IDLE")
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" {
		bad("PORTAL_TIME_ZONE", "%q is not an IANA time zone", p.TimeZone)
	}
	if p.APITimeout <= 0 {
		bad("PORTAL_API_TIMEOUT", "must be positive")
	}
	return errs
}

// TargetNames lists every service target in the order "all" runs them.
func TargetNames() []string { return []string{"awareness", "connection", "resolution", "portal"} }

func validTarget(t string) bool { return slices.Contains(TargetNames(), t) }

// Read reads the environment into a Config with defaults, unvalidated
// (deiops dev fills in what it generates before validating).
func Read() (Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return Config{}, fmt.Errorf("read environment: %w", err)
	}
	return c, nil
}

// Load reads the environment into a Config and validates it.
func Load() (Config, error) {
	c, err := Read()
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Targets returns the service targets named by Target, expanded from "all".
func (c Config) Targets() []string {
	if strings.TrimSpace(c.Target) == "all" {
		return TargetNames()
	}
	var out []string
	for _, t := range strings.Split(c.Target, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.Target) != "all" {
		ts := c.Targets()
		if len(ts) == 0 {
			bad("TARGET", "empty; use all or a list of awareness, connection, resolution, portal")
		}
		for _, t := range ts {
			if !validTarget(t) {
				bad("TARGET", "unknown target %q; use all or a list of awareness, connection, resolution, portal", t)
			}
		}
	}
	if !installationName.MatchString(c.Installation) {
		bad("INSTALLATION", "%q must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", c.Installation)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("LOG_FORMAT", "%q is not json or text", c.LogFormat)
	}
	if c.ShutdownTTL <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	errs = append(errs, c.NATS.problems()...)
	if c.Temporal.Address == "" {
		bad("TEMPORAL_ADDRESS", "required")
	}
	if c.Temporal.Namespace == "" {
		bad("TEMPORAL_NAMESPACE", "required")
	}
	if (c.Temporal.TLSCert == "") != (c.Temporal.TLSKey == "") {
		bad("TEMPORAL_TLS_CERT", "TLS_CERT and TLS_KEY go together")
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			bad("REDIS_URL", "must be a redis://, rediss:// or unix:// URL")
		}
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("HTTP_MAX_BODY_BYTES", "must be at least 1024")
	}
	if c.HTTP.RateLimit < 1 {
		bad("HTTP_RATE_LIMIT", "must be at least 1")
	}
	if c.HTTP.RateBurst < 1 {
		bad("HTTP_RATE_BURST", "must be at least 1")
	}
	if c.HTTP.IdempotencyTTL < time.Minute {
		bad("HTTP_IDEMPOTENCY_TTL", "must be at least 1m")
	}
	if _, err := url.ParseRequestURI(c.HTTP.PublicURL); err != nil {
		bad("HTTP_PUBLIC_URL", "not a URL: %v", err)
	}
	if _, err := c.HTTP.TrustedProxyPrefixes(); err != nil {
		bad("HTTP_TRUSTED_PROXIES", "%v", err)
	}
	if !c.Auth.Dev {
		if c.Auth.Issuer == "" {
			bad("AUTH_ISSUER", "required unless DEIOPS_AUTH_DEV=true")
		}
		if c.Auth.JWKSURL == "" {
			bad("AUTH_JWKS_URL", "required unless DEIOPS_AUTH_DEV=true")
		}
	}
	if c.Auth.Audience == "" {
		bad("AUTH_AUDIENCE", "required")
	}
	for _, a := range c.Auth.Algorithms {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		default:
			bad("AUTH_ALGORITHMS", "%q is not an accepted asymmetric algorithm", a)
		}
	}
	if len(c.Auth.Algorithms) == 0 {
		bad("AUTH_ALGORITHMS", "at least one algorithm is required")
	}
	if c.Auth.RoleClaim == "" {
		bad("AUTH_ROLE_CLAIM", "required")
	}
	if c.Auth.Leeway < 0 || c.Auth.Leeway > 5*time.Minute {
		bad("AUTH_LEEWAY", "must be between 0 and 5m")
	}
	if c.Crypto.Keyring == "" {
		bad("CRYPTO_KEYRING", "required: restricted data is encrypted under it (deiops dev generates one)")
	}
	if c.Privacy.MinCellSize < 2 {
		bad("PRIVACY_MIN_CELL_SIZE", "must be at least 2")
	}
	if c.Privacy.HMACSecret == "" {
		bad("PRIVACY_HMAC_SECRET", "required: identifiers are matched by keyed hash (deiops dev generates one)")
	}
	errs = append(errs, c.Notify.problems(c.NATS.AckWait)...)
	errs = append(errs, c.Resolution.problems()...)
	errs = append(errs, c.Portal.problems()...)
	return errors.Join(errs...)
}

// problems checks the notification settings; a delivery attempt must end
// within the NATS ack wait, or the request is redelivered meanwhile.
func (n Notify) problems(ackWait time.Duration) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	if n.SMTPAddr != "" {
		host, port, err := net.SplitHostPort(n.SMTPAddr)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			bad("NOTIFY_SMTP_ADDR", "want host:port, e.g. smtp.example.org:587")
		}
	}
	if _, err := mail.ParseAddress(n.SMTPFrom); err != nil {
		bad("NOTIFY_SMTP_FROM", "not an email address: %v", err)
	}
	if (n.SMTPUsername == "") != (n.SMTPPassword == "") {
		bad("NOTIFY_SMTP_USERNAME", "SMTP_USERNAME and SMTP_PASSWORD go together")
	}
	switch n.SMTPStartTLS {
	case "auto", "always", "never":
	default:
		bad("NOTIFY_SMTP_STARTTLS", "%q is not auto, always or never", n.SMTPStartTLS)
	}
	if n.SMTPStartTLS == "never" && n.SMTPUsername != "" && n.SMTPAddr != "" {
		if host, _, err := net.SplitHostPort(n.SMTPAddr); err == nil && host != "localhost" && host != "127.0.0.1" && host != "::1" {
			bad("NOTIFY_SMTP_STARTTLS", "never would send SMTP credentials unencrypted to %s; credentials need TLS unless the server is on localhost", host)
		}
	}
	if n.WebhookURL != "" {
		if u, err := url.Parse(n.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("NOTIFY_WEBHOOK_URL", "must be an absolute http:// or https:// URL")
		}
		if n.WebhookSecret == "" {
			bad("NOTIFY_WEBHOOK_SECRET", "required with DEIOPS_NOTIFY_WEBHOOK_URL: receivers verify the signature with it")
		} else if len(n.WebhookSecret) < 16 {
			bad("NOTIFY_WEBHOOK_SECRET", "must be at least 16 bytes")
		}
	}
	if n.FallbackEmail != "" {
		if _, err := mail.ParseAddress(n.FallbackEmail); err != nil {
			bad("NOTIFY_FALLBACK_EMAIL", "not an email address: %v", err)
		}
	}
	if n.Timeout <= 0 {
		bad("NOTIFY_TIMEOUT", "must be positive")
	} else if ackWait > 0 && n.Timeout >= ackWait {
		bad("NOTIFY_TIMEOUT", "must be shorter than DEIOPS_NATS_ACK_WAIT (%s)", ackWait)
	}
	return errs
}

// Variable describes one setting for documentation.
type Variable struct {
	Name, Type, Default, Description string
}

// Variables lists every setting in declaration order.
func Variables() ([]Variable, error) {
	var out []Variable
	var buf strings.Builder
	const format = "{{range .}}{{usage_key .}}\x1f{{usage_type .}}\x1f{{usage_default .}}\x1f{{usage_description .}}\x1e{{end}}"
	if err := envconfig.Usagef(Prefix, &Config{}, &buf, format); err != nil {
		return nil, fmt.Errorf("describe configuration: %w", err)
	}
	for _, row := range strings.Split(buf.String(), "\x1e") {
		if row == "" {
			continue
		}
		f := strings.Split(row, "\x1f")
		out = append(out, Variable{Name: f[0], Type: f[1], Default: f[2], Description: f[3]})
	}
	return out, nil
}

// WriteTable prints the settings as an aligned table (the `deiops config` output).
func WriteTable(w io.Writer) error {
	vars, err := Variables()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDEFAULT\tDESCRIPTION")
	for _, v := range vars {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, v.Default, v.Description)
	}
	fmt.Fprintln(tw, "OTEL_*\t\tStandard OpenTelemetry SDK variables (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...)")
	return tw.Flush()
}

const markdownTable = "| Variable | Default | Description |\n|---|---|---|\n{{range .}}| `{{.Name}}` | {{if .Default}}`{{.Default}}`{{end}} | {{.Description}} |\n{{end}}"

// WriteMarkdown prints the settings as the README's Markdown table.
func WriteMarkdown(w io.Writer) error {
	vars, err := Variables()
	if err != nil {
		return err
	}
	tmpl, err := template.New("md").Parse(markdownTable)
	if err != nil {
		return fmt.Errorf("config table template: %w", err)
	}
	return tmpl.Execute(w, vars)
}

// ValidateNATS checks only the NATS settings: enough for `deiops provision`,
// which touches nothing else.
func (c Config) ValidateNATS() error { return errors.Join(c.NATS.problems()...) }

func (n NATS) problems() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s_%s: %s", Prefix, name, fmt.Sprintf(format, args...)))
	}
	if n.URL == "" {
		bad("NATS_URL", "required")
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		bad("NATS_REPLICAS", "%d is outside 1..5", n.Replicas)
	}
	if n.DuplicateWindow <= 0 {
		bad("NATS_DUPLICATE_WINDOW", "must be positive")
	}
	if n.PublishAttempts < 1 {
		bad("NATS_PUBLISH_ATTEMPTS", "must be at least 1")
	}
	if n.AckWait < time.Second {
		bad("NATS_ACK_WAIT", "must be at least 1s")
	}
	if n.MaxDeliver < 1 {
		bad("NATS_MAX_DELIVER", "must be at least 1")
	}
	if len(n.Backoff) > 0 && len(n.Backoff) > n.MaxDeliver {
		bad("NATS_BACKOFF", "has %d delays but only %d deliveries are allowed", len(n.Backoff), n.MaxDeliver)
	}
	for _, d := range n.Backoff {
		if d <= 0 {
			bad("NATS_BACKOFF", "delays must be positive")
			break
		}
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		bad("NATS_TLS_CERT", "TLS_CERT and TLS_KEY go together")
	}
	return errs
}
