package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/deiops/deiops/services/portal/apiclient"
	"github.com/deiops/deiops/services/portal/i18n"
)

// Codes of the intake API, in the order the form offers them.
var (
	categories = []string{"racism", "microaggression", "discrimination", "harassment", "bias_in_patient_care", "exclusion", "retaliation", "other"}
	partyRoles = []string{"patient", "attending", "resident", "nurse", "staff", "visitor", "unknown"}
	outcomes   = []string{"record_only", "informal_support", "formal_resolution"}
)

// involvedRows is how many people the form offers without JavaScript.
const involvedRows = 3

// reportForm is what the reporter typed; it is shown back unchanged
// when something is wrong.
type reportForm struct {
	Mode           string // anonymous or named
	Category       string
	Narrative      string
	Date, Time     string
	Department     string
	Site           string
	Roles, Names   [involvedRows]string
	Witnesses      string
	DesiredOutcome string
}

func readReportForm(r *http.Request) reportForm {
	f := reportForm{
		Mode: r.PostFormValue("mode"), Category: r.PostFormValue("category"), Narrative: r.PostFormValue("narrative"),
		Date: strings.TrimSpace(r.PostFormValue("occurred_date")), Time: strings.TrimSpace(r.PostFormValue("occurred_time")),
		Department: strings.TrimSpace(r.PostFormValue("department")), Site: strings.TrimSpace(r.PostFormValue("site")),
		Witnesses: r.PostFormValue("witnesses"), DesiredOutcome: r.PostFormValue("desired_outcome"),
	}
	for i := range involvedRows {
		f.Roles[i] = r.PostFormValue("involved_role_" + strconv.Itoa(i))
		f.Names[i] = strings.TrimSpace(r.PostFormValue("involved_name_" + strconv.Itoa(i)))
	}
	return f
}

// fieldErrors maps form field ids to a localized message.
type fieldErrors map[string]string

// request builds the API body; a date the portal cannot read is the
// portal's own error, everything else is left to the API to judge.
func (f reportForm) request(tz *time.Location, L i18n.Localizer) (apiclient.ReportRequest, fieldErrors) {
	errs := fieldErrors{}
	req := apiclient.ReportRequest{Category: f.Category, Narrative: f.Narrative, Department: f.Department, Site: f.Site,
		DesiredOutcome: f.DesiredOutcome, Anonymous: f.Mode != "named"}
	// Required fields are checked here too, so one send shows every
	// missing answer (the date must be readable before the API can judge
	// the rest).
	for field, v := range map[string]string{"category": f.Category, "narrative": strings.TrimSpace(f.Narrative),
		"department": f.Department, "site": f.Site, "desired_outcome": f.DesiredOutcome} {
		if v == "" {
			errs[field] = L.T("err.required")
		}
	}
	clock := f.Time
	if clock == "" {
		clock = "12:00"
	}
	switch at, err := time.ParseInLocation("2006-01-02 15:04", f.Date+" "+clock, tz); {
	case f.Date == "":
		errs["occurred_date"] = L.T("err.required")
	case err != nil:
		errs["occurred_date"] = L.T("err.date")
	default:
		req.OccurredAt = at.UTC().Format(time.RFC3339)
	}
	for i := range involvedRows {
		if f.Roles[i] == "" && f.Names[i] == "" {
			continue
		}
		role := f.Roles[i]
		if role == "" {
			role = "unknown"
		}
		req.Involved = append(req.Involved, apiclient.Party{Role: role, Name: f.Names[i]})
	}
	for _, w := range strings.Split(f.Witnesses, "\n") {
		if w = strings.TrimSpace(w); w != "" {
			req.Witnesses = append(req.Witnesses, w)
		}
	}
	return req, errs
}

// indexed reads "involved[2].name" as ("involved", 2, "name").
var indexed = regexp.MustCompile(`^([a-z_]+)\[(\d+)\](?:\.([a-z_]+))?$`)

// apiFieldErrors maps the API's field paths to the form's fields and its
// reasons to localized messages (the API's reasons are English and never
// shown as they are).
func apiFieldErrors(p *apiclient.Problem, f reportForm, L i18n.Localizer) fieldErrors {
	errs := fieldErrors{}
	for _, fe := range p.Errors {
		field, kind := fe.Field, fe.Field
		if m := indexed.FindStringSubmatch(fe.Field); m != nil {
			n, _ := strconv.Atoi(m[2])
			switch m[1] {
			case "involved":
				// The API counts only the rows sent; find the form row.
				row := strconv.Itoa(formRow(f, n))
				kind = m[3]
				if kind == "role" {
					field = "involved_role_" + row
				} else {
					field = "involved_name_" + row
				}
			case "witnesses":
				field, kind = "witnesses", "witnesses"
			}
		}
		switch field {
		case "department_id", "department":
			field, kind = "department", "department"
		case "occurred_at":
			field = "occurred_date"
		case "involved":
			field = "involved_role_0"
		case "reporter_id":
			field = "mode"
		}
		if _, seen := errs[field]; !seen {
			errs[field] = reasonMessage(kind, fe.Reason, L)
		}
	}
	return errs
}

// formRow is the form row of the n-th party sent.
func formRow(f reportForm, n int) int {
	sent := -1
	for i := range involvedRows {
		if f.Roles[i] != "" || f.Names[i] != "" {
			sent++
			if sent == n {
				return i
			}
		}
	}
	return 0
}

// reasonMessage localizes an API reason for a field.
func reasonMessage(field, reason string, L i18n.Localizer) string {
	switch {
	case strings.HasPrefix(reason, "is required"):
		return L.T("err.required")
	case strings.Contains(reason, "future"):
		return L.T("err.future")
	case strings.Contains(reason, "within the last"):
		return L.T("err.too_old")
	case strings.Contains(reason, "at most") && strings.Contains(reason, "characters"):
		return L.T("err.too_long")
	}
	if key := "err.field." + field; L.Has(key) {
		return L.T(key)
	}
	return L.T("err.invalid")
}

// reportPage is the data of the form.
type reportPage struct {
	Form       reportForm
	Errors     fieldErrors
	ErrorOrder []string
	Token      string
	Signed     bool
	Categories []string
	Roles      []string
	Outcomes   []string
	Rows       []int
	Today      string
}

// fieldOrder is the order of fields on the form, for the error summary.
var fieldOrder = []string{"mode", "category", "narrative", "occurred_date", "department", "site",
	"involved_role_0", "involved_name_0", "involved_role_1", "involved_name_1", "involved_role_2", "involved_name_2",
	"witnesses", "desired_outcome"}

func (h *Handler) reportPage(c *call, f reportForm, errs fieldErrors) reportPage {
	p := reportPage{Form: f, Errors: errs, Token: h.o.Forms.Issue("report", ""), Signed: c.sess != nil,
		Categories: categories, Roles: partyRoles, Outcomes: outcomes, Rows: []int{0, 1, 2},
		Today: time.Now().In(h.o.TZ).Format("2006-01-02")}
	for _, k := range fieldOrder {
		if _, ok := errs[k]; ok {
			p.ErrorOrder = append(p.ErrorOrder, k)
		}
	}
	return p
}

// report shows the choice between anonymous and named, then the form.
func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	switch mode := r.URL.Query().Get("mode"); mode {
	case "anonymous":
		h.render(w, r, c, http.StatusOK, "report_form", c.L.T("report.form.title.anonymous"), "/report?mode=anonymous",
			h.reportPage(c, reportForm{Mode: mode}, nil))
	case "named":
		if c.sess == nil {
			http.Redirect(w, r, "/auth/login?next="+urlQuery("/report?mode=named"), http.StatusSeeOther)
			return
		}
		h.render(w, r, c, http.StatusOK, "report_form", c.L.T("report.form.title.named"), "/report?mode=named",
			h.reportPage(c, reportForm{Mode: mode}, nil))
	default:
		h.render(w, r, c, http.StatusOK, "report_choose", c.L.T("report.choose.title"), "/report", nil)
	}
}

// receiptPage is what the receipt shows, once.
type receiptPage struct {
	Anonymous       bool
	CaseKey, Secret string
	CaseID          string
	Token           string
}

// submitReport sends the report and, on success, shows the receipt in
// the answer itself: the key and secret exist only in this response (no
// redirect, no cookie, no URL carries them).
func (h *Handler) submitReport(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	nonce, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "report", "")
	if !ok {
		h.forbidden(w, r, c)
		return
	}
	f := readReportForm(r)
	if f.Mode != "named" {
		f.Mode = "anonymous"
	}
	title := c.L.T("report.form.title." + f.Mode)
	if f.Mode == "named" && c.sess == nil {
		// Their sign-in ended while they wrote: keep what they typed.
		h.render(w, r, c, http.StatusUnauthorized, "report_form", title, "", h.reportPage(c, f, fieldErrors{"mode": c.L.T("err.signed_out")}))
		return
	}
	req, errs := f.request(h.o.TZ, c.L)
	if len(errs) > 0 {
		h.render(w, r, c, http.StatusUnprocessableEntity, "report_form", title, "", h.reportPage(c, f, errs))
		return
	}
	who := c.anonymous()
	if f.Mode == "named" {
		who = c.caller()
	}
	who.IdempotencyKey = h.o.Forms.IdempotencyKey("report", nonce)
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	rc, err := h.o.API.SubmitReport(ctx, who, req)
	var p *apiclient.Problem
	switch {
	case err == nil:
	case errors.As(err, &p) && (p.Status == http.StatusUnprocessableEntity || p.Status == http.StatusBadRequest) && len(p.Errors) > 0:
		h.render(w, r, c, http.StatusUnprocessableEntity, "report_form", title, "", h.reportPage(c, f, apiFieldErrors(p, f, c.L)))
		return
	case errors.As(err, &p) && p.Status == http.StatusConflict:
		// The same form is still being sent (a double click): say so and
		// keep everything, with the same token, so the retry replays.
		pg := h.reportPage(c, f, fieldErrors{"mode": c.L.T("err.in_flight")})
		pg.Token = r.PostFormValue("csrf")
		h.render(w, r, c, http.StatusConflict, "report_form", title, "", pg)
		return
	case errors.As(err, &p) && p.Status == http.StatusUnauthorized && f.Mode == "named":
		_ = h.o.Sessions.End(r.Context(), w, r)
		c.sess = nil
		h.render(w, r, c, http.StatusUnauthorized, "report_form", title, "", h.reportPage(c, f, fieldErrors{"mode": c.L.T("err.signed_out")}))
		return
	case errors.As(err, &p) && p.Status == http.StatusTooManyRequests:
		h.render(w, r, c, http.StatusTooManyRequests, "report_form", title, "", h.reportPage(c, f, fieldErrors{"mode": c.L.T("err.busy")}))
		return
	default:
		// Keep what they typed, and the token: if the API did file it and
		// only the answer was lost, sending again replays the same receipt.
		h.o.Logger.WarnContext(r.Context(), "portal api call failed", "op", "submitReport", "status", apiclient.StatusOf(err), "error", err)
		pg := h.reportPage(c, f, fieldErrors{"mode": c.L.T("err.unavailable")})
		pg.Token = r.PostFormValue("csrf")
		h.render(w, r, c, http.StatusBadGateway, "report_form", title, "", pg)
		return
	}
	page := receiptPage{Anonymous: f.Mode != "named", CaseKey: rc.CaseKey, Secret: rc.Secret, CaseID: rc.CaseID,
		Token: h.o.Forms.Issue("receipt", "")}
	h.render(w, r, c, http.StatusOK, "receipt", c.L.T("receipt.title"), "", page)
}

var (
	caseKeyPattern = regexp.MustCompile(`^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$`)
	secretPattern  = regexp.MustCompile(`^[A-Za-z0-9_\-]{16,128}$`)
)

// downloadReceipt turns what the receipt form carries back into a text
// file. It is a POST so the secret never travels in a URL.
func (h *Handler) downloadReceipt(w http.ResponseWriter, r *http.Request) {
	c := h.begin(w, r)
	if _, ok := h.o.Forms.Check(r.PostFormValue("csrf"), "receipt", ""); !ok {
		h.forbidden(w, r, c)
		return
	}
	key, secret := r.PostFormValue("case_key"), r.PostFormValue("secret")
	if !caseKeyPattern.MatchString(key) || !secretPattern.MatchString(secret) {
		h.errorPage(w, r, c, http.StatusUnprocessableEntity, "error.form.title", "error.form.body")
		return
	}
	inbox := strings.TrimSuffix(h.o.PublicURL.String(), "/") + "/inbox"
	body := fmt.Sprintf(c.L.T("receipt.file"), key, secret, inbox)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.L.T("receipt.filename")+`"`)
	_, _ = w.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
}

func urlQuery(s string) string {
	return strings.NewReplacer("?", "%3F", "=", "%3D", "&", "%26").Replace(s)
}
