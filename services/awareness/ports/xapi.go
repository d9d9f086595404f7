package ports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/services/awareness/app"
)

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// MaxXAPIStatements bounds one request.
const MaxXAPIStatements = 1000

// parseXAPI reads one statement or an array of them and checks the fields
// the service needs, naming each bad one.
func parseXAPI(body []byte) ([]app.XAPIStatement, []httpapi.FieldError) {
	body = bytes.TrimSpace(body)
	var raw []XAPIStatement
	var err error
	if len(body) > 0 && body[0] == '[' {
		err = json.Unmarshal(body, &raw)
	} else {
		var one XAPIStatement
		err = json.Unmarshal(body, &one)
		raw = []XAPIStatement{one}
	}
	if err != nil {
		return nil, []httpapi.FieldError{{Field: "body", Reason: "must be an xAPI statement or an array of them"}}
	}
	if len(raw) == 0 || len(raw) > MaxXAPIStatements {
		return nil, []httpapi.FieldError{{Field: "body", Reason: fmt.Sprintf("must hold 1 to %d statements", MaxXAPIStatements)}}
	}
	var errs []httpapi.FieldError
	out := make([]app.XAPIStatement, 0, len(raw))
	for i, s := range raw {
		f := func(name string) string { return fmt.Sprintf("[%d].%s", i, name) }
		if !uuidRE.MatchString(s.ID) {
			errs = append(errs, httpapi.FieldError{Field: f("id"), Reason: "must be a UUID (statements are idempotent by id)"})
		}
		if s.Verb.ID == "" {
			errs = append(errs, httpapi.FieldError{Field: f("verb.id"), Reason: "is required"})
		}
		if s.Object.ID == "" {
			errs = append(errs, httpapi.FieldError{Field: f("object.id"), Reason: "is required"})
		}
		st := app.XAPIStatement{ID: s.ID, Verb: s.Verb.ID, ActivityID: s.Object.ID, Timestamp: s.Timestamp}
		switch {
		case s.Actor.Account != nil && s.Actor.Account.Name != "":
			st.ActorAccount = s.Actor.Account.Name
		case strings.HasPrefix(strings.ToLower(s.Actor.Mbox), "mailto:"):
			st.ActorMbox = s.Actor.Mbox
		default:
			errs = append(errs, httpapi.FieldError{Field: f("actor"), Reason: "needs an mbox (mailto:) or an account name"})
		}
		if s.Timestamp.IsZero() {
			errs = append(errs, httpapi.FieldError{Field: f("timestamp"), Reason: "is required"})
		}
		out = append(out, st)
	}
	return out, errs
}
