package events

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/deiops/deiops/pkg/jsonschema"
)

// AsyncAPIVersion is the AsyncAPI specification the generated document
// follows.
const AsyncAPIVersion = "3.0.0"

// Info describes the generated documents.
type Info struct {
	// Title of the AsyncAPI document; "deiops events" when empty.
	Title string
	// Version of the contract (the deiops release that publishes it).
	// Required. It is part of the committed documents, so a value that
	// changes on every build makes the drift check fail on every build.
	Version string
	// Description is appended to the generated description of the
	// conventions (envelope, subjects, versions, delivery).
	Description string
	// Host is the NATS server integrators connect to, host[:port]. Required.
	Host string
	// IncludeInternal adds internal events, marked x-internal, for deiops
	// developers. Integrators' documents leave it false: internal subjects
	// are not readable with their credentials and not part of the contract.
	IncludeInternal bool
}

func (i Info) validate() error {
	var errs []error
	if strings.TrimSpace(i.Version) == "" {
		errs = append(errs, errors.New("info: version required"))
	}
	if strings.TrimSpace(i.Host) == "" {
		errs = append(errs, errors.New("info: NATS host required"))
	}
	return errors.Join(errs...)
}

func (i Info) title() string {
	if t := strings.TrimSpace(i.Title); t != "" {
		return t
	}
	return "deiops events"
}

// documented is the part of c the documents describe.
func (i Info) documented(c *Catalog) *Catalog {
	if i.IncludeInternal {
		return c
	}
	return c.Public()
}

// The AsyncAPI document is built from structs, not maps, so that its keys
// keep the order of the specification rather than the alphabet.
type (
	apiDoc struct {
		AsyncAPI           string                  `json:"asyncapi"`
		Info               apiInfo                 `json:"info"`
		DefaultContentType string                  `json:"defaultContentType"`
		Servers            map[string]apiServer    `json:"servers"`
		Channels           map[string]apiChannel   `json:"channels"`
		Operations         map[string]apiOperation `json:"operations"`
		Components         apiComponents           `json:"components"`
	}
	apiInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}
	apiServer struct {
		Host        string `json:"host"`
		Protocol    string `json:"protocol"`
		Description string `json:"description"`
	}
	apiRef struct {
		Ref string `json:"$ref"`
	}
	apiTag struct {
		Name string `json:"name"`
	}
	apiJetStream struct {
		Stream   string `json:"stream"`
		Subjects string `json:"subjects"`
	}
	apiChannel struct {
		Address     string            `json:"address"`
		Title       string            `json:"title"`
		Summary     string            `json:"summary"`
		Description string            `json:"description"`
		Messages    map[string]apiRef `json:"messages"`
		JetStream   apiJetStream      `json:"x-jetstream"`
		Internal    bool              `json:"x-internal,omitempty"`
	}
	apiOperation struct {
		Action   string   `json:"action"`
		Channel  apiRef   `json:"channel"`
		Title    string   `json:"title"`
		Summary  string   `json:"summary"`
		Tags     []apiTag `json:"tags"`
		Messages []apiRef `json:"messages"`
		Internal bool     `json:"x-internal,omitempty"`
	}
	apiMessage struct {
		Name        string            `json:"name"`
		Title       string            `json:"title"`
		Summary     string            `json:"summary"`
		ContentType string            `json:"contentType"`
		Headers     jsonschema.Schema `json:"headers"`
		Payload     apiRef            `json:"payload"`
		Tags        []apiTag          `json:"tags"`
		Internal    bool              `json:"x-internal,omitempty"`
	}
	apiComponents struct {
		Messages map[string]apiMessage        `json:"messages"`
		Schemas  map[string]jsonschema.Schema `json:"schemas"`
	}
)

// serverName is the key of the one server entry.
const serverName = "nats"

// AsyncAPI returns the AsyncAPI 3.0 document of c: one channel per event
// type, whose address is the NATS subject, one send operation per channel
// (deiops sends, integrators receive), and a message with the CloudEvents
// headers and the payload schema. The output is deterministic so that it
// can be committed and checked for drift.
//
// Internal events are left out unless info.IncludeInternal is set; then
// they appear with x-internal: true.
//
// The NATS bindings of AsyncAPI carry nothing for channels, servers and
// messages, and only a queue group for receiving operations, so stream
// details go into the x-jetstream extension of each channel instead.
func AsyncAPI(c *Catalog, info Info) ([]byte, error) {
	if err := info.validate(); err != nil {
		return nil, fmt.Errorf("asyncapi: %w", err)
	}
	doc := apiDoc{
		AsyncAPI: AsyncAPIVersion,
		Info: apiInfo{
			Title:       info.title(),
			Version:     info.Version,
			Description: description(info),
		},
		DefaultContentType: ContentJSON,
		Servers: map[string]apiServer{serverName: {
			Host:     info.Host,
			Protocol: "nats",
			Description: "NATS with JetStream. Integrator credentials may subscribe to " +
				PublicPrefix + ".> and nothing else.",
		}},
		Channels:   map[string]apiChannel{},
		Operations: map[string]apiOperation{},
		Components: apiComponents{
			Messages: map[string]apiMessage{},
			Schemas:  map[string]jsonschema.Schema{},
		},
	}
	for _, e := range info.documented(c).entries {
		// The CloudEvents type names the channel, its message and its
		// schema: it is unique, stable, and only uses characters the
		// specification allows in component keys.
		id := e.Type()
		tags := []apiTag{{Name: e.Service}}
		doc.Channels[id] = apiChannel{
			Address: e.Subject(),
			Title:   title(e.Spec),
			Summary: e.Summary,
			Description: fmt.Sprintf("CloudEvents type `%s`, stored in JetStream stream `%s` (subjects `%s`).",
				e.Type(), e.Stream(), e.StreamSubjects()),
			Messages:  map[string]apiRef{id: {Ref: "#/components/messages/" + id}},
			JetStream: apiJetStream{Stream: e.Stream(), Subjects: e.StreamSubjects()},
			Internal:  e.Internal,
		}
		doc.Operations["send."+id] = apiOperation{
			Action:   "send",
			Channel:  apiRef{Ref: "#/channels/" + id},
			Title:    "Publish " + title(e.Spec),
			Summary:  e.Summary,
			Tags:     tags,
			Messages: []apiRef{{Ref: "#/channels/" + id + "/messages/" + id}},
			Internal: e.Internal,
		}
		doc.Components.Messages[id] = apiMessage{
			Name:        id,
			Title:       title(e.Spec),
			Summary:     e.Summary,
			ContentType: ContentJSON,
			Headers:     headersSchema(e.Spec),
			Payload:     apiRef{Ref: "#/components/schemas/" + id},
			Tags:        tags,
			Internal:    e.Internal,
		}
		doc.Components.Schemas[id] = payloadSchema(e)
	}
	b, err := marshalDoc(doc)
	if err != nil {
		return nil, fmt.Errorf("asyncapi: %w", err)
	}
	return b, nil
}

func ownerNoun(s Spec) string {
	if s.Platform {
		return "platform"
	}
	return "service"
}

// headersSchema describes the NATS headers of one event type: the
// CloudEvents binary-mode attributes, with the ones fixed by the type as
// constants, and the transport's own headers. Other headers may be present.
func headersSchema(s Spec) jsonschema.Schema {
	str := func(desc string) jsonschema.Schema {
		return jsonschema.Schema{"type": "string", "description": desc}
	}
	constant := func(v, desc string) jsonschema.Schema {
		return jsonschema.Schema{"type": "string", "const": v, "description": desc}
	}
	id := str("Unique id of the event (a time-ordered UUIDv7). Redeliveries keep it: deduplicate on it.")
	id["minLength"] = 1
	source := str("/<installation>/" + s.Owner() + ": the installation (DEIOPS_INSTALLATION) and the " +
		ownerNoun(s) + " that owns the event. It is the same whichever deiops process publishes the event " +
		"and however the installation is deployed, so it may be keyed on.")
	source["format"] = "uri-reference"
	source["pattern"] = "^/" + InstallationPattern + "/" + regexp.QuoteMeta(s.Owner()) + "$"
	at := str("When the change happened (RFC 3339, UTC).")
	at["format"] = "date-time"
	schema := constant(s.DataSchema(), "$id of the payload's JSON Schema.")
	schema["format"] = "uri"
	trace := str("W3C Trace Context of the change, when it was traced.")
	trace["pattern"] = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

	return jsonschema.Schema{
		"type": "object",
		"properties": jsonschema.Schema{
			HeaderID:             id,
			HeaderSource:         source,
			HeaderType:           constant(s.Type(), "CloudEvents type: the event and its version."),
			HeaderSpecVersion:    constant(SpecVersion, "CloudEvents specification version."),
			HeaderTime:           at,
			HeaderSubject:        str("Id of the entity the event is about (for example the case id); not the NATS subject."),
			HeaderDataSchema:     schema,
			HeaderClassification: constant(s.Classification(), "CloudEvents dataclassification extension."),
			HeaderContentType:    constant(ContentJSON, "Media type of the message body."),
			"traceparent":        trace,
			"tracestate":         str("W3C Trace Context vendor state, with traceparent."),
			"Nats-Msg-Id":        str("Equal to ce-id; JetStream stores an event once within its duplicate window."),
		},
		"required": []string{
			HeaderID, HeaderSource, HeaderType, HeaderSpecVersion, HeaderTime,
			HeaderDataSchema, HeaderClassification, HeaderContentType,
		},
	}
}
