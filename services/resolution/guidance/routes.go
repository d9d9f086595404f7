package guidance

import (
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/pkg/httpapi"
	"github.com/deiops/deiops/pkg/versioned"
	"github.com/deiops/deiops/pkg/versioned/versionedhttp"
)

// Response is a guidance version as the API answers it.
type Response struct {
	Department  string    `json:"department" desc:"The department asked for (hospital: the hospital-wide default)"`
	Version     int       `json:"version" desc:"Version of the source scope's guidance; 0 for the built-in guidance"`
	SourceScope string    `json:"source_scope" desc:"Whose guidance this is: the department itself, hospital (the department has none of its own) or builtin (nothing was published yet)"`
	PublishedAt time.Time `json:"published_at,omitzero" desc:"When the version was published; absent for the built-in guidance"`
	PublishedBy string    `json:"published_by,omitempty" desc:"Subject id of the publisher; shown to dei_officer and admin callers only"`
	Guidance    Guidance  `json:"guidance"`
}

// Routes registers the guidance API on r: anyone may read it (posters and
// badges send people there before they sign in, or who never will);
// publishing needs dei_officer or admin.
func Routes(r *httpapi.Router, s *Service) {
	editors := []caller.Role{caller.DEIOfficer, caller.Admin}
	versionedhttp.Routes[Guidance, Guidance, Response]{
		Docs: s, Base: "/v1/guidance", Tag: "guidance",
		IDs: [5]string{"getGuidance", "listGuidanceVersions", "getGuidanceVersion", "publishGuidance", "previewGuidance"},
		Texts: versionedhttp.Texts{
			CurrentSummary: "What to do if you encounter racism or mistreatment in a department",
			CurrentDescription: "The department's latest guidance; when it has published none, the hospital-wide default " +
				"(source_scope hospital); when nothing was published at all, the built-in guidance (source_scope builtin, version 0). " +
				"Use department hospital to read the hospital-wide default. No token is needed.",
			VersionsSummary: "Every version a department has published, oldest first, without the text",
			VersionSummary:  "One version of a department's guidance, current or not",
			PublishSummary:  "Publish a new version of a department's guidance",
			PreviewSummary:  "Check guidance as publish would, without publishing it",
			PublishDescription: "The body is the whole guidance; it becomes the department's next version and earlier versions stay readable. " +
				"Department hospital publishes the hospital-wide default, which applies to every department without guidance of its own. " +
				"Every guidance offers formal_resolution. 422 lists every invalid field; 409 means the department holds the maximum " +
				"number of versions; 503 with Retry-After means concurrent publishes kept colliding (send it again).",
		},
		ReadPublic: true,
		EditRoles:  editors,
		Document:   func(g Guidance) Guidance { return g },
		Respond: func(dept, source string, v versioned.Version[Guidance], showBy bool) Response {
			out := Response{Department: dept, Version: v.Version, SourceScope: source, PublishedAt: v.PublishedAt, Guidance: v.Doc}
			if showBy {
				out.PublishedBy = v.PublishedBy
			}
			return out
		},
		// Who published a version is for the people who publish;
		// everyone else reads the text and its date.
		ShowPublisher: func(a caller.Actor) bool { return a.Has(editors...) },
	}.Register(r)
}
