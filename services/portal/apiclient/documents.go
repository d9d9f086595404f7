package apiclient

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DocumentKind names a kind of versioned department document the API
// keeps (guidance, escalation policies) by its base path and the field
// its answers carry the document in.
type DocumentKind struct {
	Base  string // e.g. /v1/guidance
	Field string // e.g. guidance
}

// The document kinds.
var (
	GuidanceDocs = DocumentKind{Base: "/v1/guidance", Field: "guidance"}
	PolicyDocs   = DocumentKind{Base: "/v1/escalation-policies", Field: "policy"}
)

// DocumentVersion is one version of a department's document as the API
// answers it; Doc is the document itself, as JSON.
type DocumentVersion struct {
	Department  string          `json:"department"`
	Version     int             `json:"version"`
	SourceScope string          `json:"source_scope"`
	PublishedAt time.Time       `json:"published_at"`
	PublishedBy string          `json:"published_by"`
	Doc         json.RawMessage `json:"-"`
}

// VersionInfo is one entry of a version history.
type VersionInfo struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
	PublishedBy string    `json:"published_by"`
}

func (k DocumentKind) decode(data json.RawMessage) (DocumentVersion, error) {
	var v DocumentVersion
	if err := json.Unmarshal(data, &v); err != nil {
		return v, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return v, err
	}
	v.Doc = fields[k.Field]
	return v, nil
}

func (c *Client) document(ctx context.Context, method, path string, who Caller, k DocumentKind, body any) (DocumentVersion, error) {
	var raw json.RawMessage
	if err := c.do(ctx, method, path, who, body, &raw); err != nil {
		return DocumentVersion{}, err
	}
	v, err := k.decode(raw)
	if err != nil {
		return v, &Problem{cause: err}
	}
	return v, nil
}

func (k DocumentKind) path(department string) string {
	return k.Base + "/" + url.PathEscape(department)
}

// Current is the document in force for a department (its own, the
// hospital's or the built-in one; SourceScope says which).
func (c *Client) Current(ctx context.Context, who Caller, k DocumentKind, department string) (DocumentVersion, error) {
	return c.document(ctx, http.MethodGet, k.path(department), who, k, nil)
}

// Version is one of a department's own versions.
func (c *Client) Version(ctx context.Context, who Caller, k DocumentKind, department string, n int) (DocumentVersion, error) {
	return c.document(ctx, http.MethodGet, k.path(department)+"/versions/"+strconv.Itoa(n), who, k, nil)
}

// Versions is a department's version history, oldest first.
func (c *Client) Versions(ctx context.Context, who Caller, k DocumentKind, department string) ([]VersionInfo, error) {
	var out struct {
		Versions []VersionInfo `json:"versions"`
	}
	err := c.do(ctx, http.MethodGet, k.path(department)+"/versions", who, nil, &out)
	return out.Versions, err
}

// Preview checks body as publishing would, and answers the document as it
// would be published; nothing is stored.
func (c *Client) Preview(ctx context.Context, who Caller, k DocumentKind, department string, body json.RawMessage) (DocumentVersion, error) {
	return c.document(ctx, http.MethodPost, k.path(department)+"/preview", who, k, body)
}

// Publish publishes body as the department's next version.
func (c *Client) Publish(ctx context.Context, who Caller, k DocumentKind, department string, body json.RawMessage) (DocumentVersion, error) {
	return c.document(ctx, http.MethodPut, k.path(department), who, k, body)
}

// PolicyTemplate is a ready escalation policy.
type PolicyTemplate struct {
	Name        string          `json:"name"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Policy      json.RawMessage `json:"policy"`
}

// PolicyTemplates lists the ready escalation policies.
func (c *Client) PolicyTemplates(ctx context.Context, who Caller) ([]PolicyTemplate, error) {
	var out struct {
		Templates []PolicyTemplate `json:"templates"`
	}
	err := c.do(ctx, http.MethodGet, PolicyDocs.Base+"/templates", who, nil, &out)
	return out.Templates, err
}

// Policy is an escalation policy, as much of it as the portal shows.
type Policy struct {
	Calendar struct {
		TimeZone string   `json:"time_zone"`
		Workdays []string `json:"workdays"`
		Start    string   `json:"start"`
		End      string   `json:"end"`
		Holidays []string `json:"holidays"`
	} `json:"calendar"`
	Levels []struct {
		Name    string `json:"name"`
		Targets []struct {
			Kind    string   `json:"kind"`
			ID      string   `json:"id"`
			Role    string   `json:"role"`
			Members []string `json:"members"`
		} `json:"targets"`
		Delay       Duration `json:"delay"`
		From        string   `json:"from"`
		Condition   string   `json:"condition"`
		Repeat      int      `json:"repeat"`
		RepeatEvery Duration `json:"repeat_every"`
	} `json:"levels"`
	Delegations []struct {
		From, To, Start, End string
	} `json:"delegations"`
	Checkins struct {
		Offsets        []Duration `json:"offsets"`
		ResponseWindow Duration   `json:"response_window"`
	} `json:"checkins"`
}

// Duration is an amount of a unit (days, business_days, months, ...).
type Duration struct {
	Amount int    `json:"amount"`
	Unit   string `json:"unit"`
}
