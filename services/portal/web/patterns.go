package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/deiops/deiops/pkg/caller"
	"github.com/deiops/deiops/services/portal/apiclient"
)

// The patterns page: the suppressed tables as a table and a chart drawn on
// the server (SVG, no script), the detections with their reasons and the
// repeat-subject alerts by opaque id. Every number comes from the API,
// which suppresses small cells; the page never computes one of its own.

var patternDims = []string{"department", "category", "role", "week"}

// patternRoles read the tables (the API decides; the menu follows it).
var patternRoles = []caller.Role{caller.DEIOfficer, caller.DepartmentLead, caller.ProgramDirector}

func readsPatterns(roles []string) bool { return holdsAny(roles, patternRoles) }

type patternsPage struct {
	Rows, Cols, From, To string
	Dims                 []string
	Table                *apiclient.PatternTable
	Chart                []bar
	ChartHeight          int
	Detections           []apiclient.Detection
	Subjects             []apiclient.RepeatSubject
	// OfficerOnly says the detections and alerts are not this person's to see.
	OfficerOnly bool
	Error       string
}

// bar is one row total drawn in the chart; a suppressed total is drawn as
// an outline with no length that means anything.
type bar struct {
	Label      string
	Count      int
	Suppressed bool
	Y, Width   int
}

func (h *Handler) patterns(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if !h.requireSession(w, r, c) {
		return
	}
	in := r.URL.Query()
	p := patternsPage{Rows: in.Get("rows"), Cols: in.Get("cols"), From: in.Get("from"), To: in.Get("to"), Dims: patternDims}
	if !slices.Contains(patternDims, p.Rows) {
		p.Rows = "department"
	}
	if !slices.Contains(patternDims, p.Cols) || p.Cols == p.Rows {
		p.Cols = map[bool]string{true: "department", false: "category"}[p.Rows == "category"]
	}
	q := url.Values{"rows": {p.Rows}, "cols": {p.Cols}}
	for k, v := range map[string]*string{"from": &p.From, "to": &p.To} {
		if _, err := time.Parse(time.DateOnly, *v); err == nil {
			q.Set(k, *v)
		} else {
			*v = ""
		}
	}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	who := c.caller()
	t, err := h.o.API.PatternTable(ctx, who, q)
	switch status := apiclient.StatusOf(err); {
	case err == nil:
		p.Table = &t
		p.Chart, p.ChartHeight = chart(t)
	case status == http.StatusUnprocessableEntity:
		p.Error = c.L.T("patterns.error.query")
	case status == http.StatusForbidden:
		h.errorPage(w, r, c, http.StatusForbidden, "patterns.forbidden.title", "patterns.forbidden.body")
		return
	default:
		h.apiFailed(w, r, c, "getPatternTable", err)
		return
	}
	if p.Detections, err = h.o.API.Detections(ctx, who); apiclient.StatusOf(err) == http.StatusForbidden {
		p.OfficerOnly = true
	} else if err != nil {
		h.apiFailed(w, r, c, "listPatternDetections", err)
		return
	}
	if !p.OfficerOnly {
		if p.Subjects, err = h.o.API.RepeatSubjects(ctx, who); err != nil {
			h.apiFailed(w, r, c, "listRepeatSubjects", err)
			return
		}
	}
	self := "/patterns?" + q.Encode()
	h.render(w, r, c, http.StatusOK, "patterns", c.L.T("patterns.title"), self, p)
}

// chart lays out one horizontal bar per row total.
func chart(t apiclient.PatternTable) ([]bar, int) {
	const rowHeight, width = 28, 360
	most := 1
	for _, c := range t.RowTotals {
		if c.Count != nil && *c.Count > most {
			most = *c.Count
		}
	}
	var bars []bar
	for i, label := range t.Rows {
		b := bar{Label: strings.TrimSpace(label), Y: i * rowHeight}
		if i < len(t.RowTotals) {
			if c := t.RowTotals[i]; c.Count != nil {
				b.Count, b.Width = *c.Count, max(2, *c.Count*width/most)
			} else {
				b.Suppressed = true
			}
		}
		bars = append(bars, b)
	}
	return bars, len(bars)*rowHeight + 4
}
