package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// FHIR extension URLs deiops reads. README.md documents their values.
const (
	FHIRExtensionBase          = "https://deiops.org/fhir/StructureDefinition/"
	FHIRExtTrainingLevel       = FHIRExtensionBase + "training-level"
	FHIRExtCohort              = FHIRExtensionBase + "cohort"
	FHIRExtSupervisor          = FHIRExtensionBase + "supervisor"
	FHIRExtDepartmentLead      = FHIRExtensionBase + "department-lead"
	fhirSection                = "entry"
	fhirTypePractitioner       = "Practitioner"
	fhirTypePractitionerRole   = "PractitionerRole"
	fhirTypeOrganization       = "Organization"
	fhirPathPractitionerActive = "Practitioner.active"
)

// The subset of FHIR R4 that deiops reads. Elements not listed are ignored,
// as FHIR allows, except modifierExtension, which FHIR forbids ignoring.

type fhirBundle struct {
	ResourceType string      `json:"resourceType"`
	Entry        []fhirEntry `json:"entry"`
}

type fhirEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
}

type fhirHead struct {
	ResourceType      string            `json:"resourceType"`
	ID                string            `json:"id"`
	ModifierExtension []json.RawMessage `json:"modifierExtension"`
}

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirReference struct {
	Reference  string          `json:"reference"`
	Identifier *fhirIdentifier `json:"identifier"`
}

type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type fhirCodeableConcept struct {
	Coding []fhirCoding `json:"coding"`
	Text   string       `json:"text"`
}

type fhirExtension struct {
	URL                  string               `json:"url"`
	ValueString          *string              `json:"valueString"`
	ValueCode            *string              `json:"valueCode"`
	ValueCoding          *fhirCoding          `json:"valueCoding"`
	ValueCodeableConcept *fhirCodeableConcept `json:"valueCodeableConcept"`
	ValueReference       *fhirReference       `json:"valueReference"`
}

type fhirHumanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
}

type fhirContactPoint struct {
	System string `json:"system"`
	Value  string `json:"value"`
	Use    string `json:"use"`
}

type fhirPractitioner struct {
	ID         string             `json:"id"`
	Identifier []fhirIdentifier   `json:"identifier"`
	Active     *bool              `json:"active"`
	Name       []fhirHumanName    `json:"name"`
	Telecom    []fhirContactPoint `json:"telecom"`
	Extension  []fhirExtension    `json:"extension"`
}

type fhirPractitionerRole struct {
	ID           string                `json:"id"`
	Active       *bool                 `json:"active"`
	Practitioner *fhirReference        `json:"practitioner"`
	Organization *fhirReference        `json:"organization"`
	Code         []fhirCodeableConcept `json:"code"`
	Location     []fhirReference       `json:"location"`
	Extension    []fhirExtension       `json:"extension"`
}

type fhirOrganization struct {
	ID         string           `json:"id"`
	Identifier []fhirIdentifier `json:"identifier"`
	Name       string           `json:"name"`
	PartOf     *fhirReference   `json:"partOf"`
	Extension  []fhirExtension  `json:"extension"`
}

// fhirLoc locates a bundle entry.
type fhirLoc struct {
	index    int
	resource string // "Practitioner/123"
}

func (l fhirLoc) at(field string) RowError {
	return RowError{Section: fhirSection, Index: l.index, ResourceID: l.resource, Field: field}
}

// fhirPersonLoc sends each person field to the entry and element it came
// from: name and e-mail to the Practitioner, department, role and the deiops
// extensions to the PractitionerRole.
type fhirPersonLoc struct {
	practitioner fhirLoc
	role         *fhirLoc
	idPath       string
}

func (l fhirPersonLoc) at(field string) RowError {
	onRole := func(path string) RowError {
		if l.role == nil {
			return l.practitioner.at(path)
		}
		return l.role.at(path)
	}
	switch field {
	case FieldID:
		return l.practitioner.at(l.idPath)
	case FieldDisplayName:
		return l.practitioner.at("Practitioner.name")
	case FieldEmail:
		return l.practitioner.at("Practitioner.telecom")
	case FieldActive:
		return l.practitioner.at(fhirPathPractitionerActive)
	case FieldDepartment:
		return onRole("PractitionerRole.organization")
	case FieldRole:
		return onRole("PractitionerRole.code")
	case FieldTrainingLevel:
		return onRole("PractitionerRole.extension(" + FHIRExtTrainingLevel + ")")
	case FieldCohort:
		return onRole("PractitionerRole.extension(" + FHIRExtCohort + ")")
	case FieldSite:
		return onRole("PractitionerRole.location")
	case FieldSupervisorID:
		return onRole("PractitionerRole.extension(" + FHIRExtSupervisor + ")")
	}
	return l.practitioner.at(field)
}

// fhirDeptLoc does the same for departments.
type fhirDeptLoc struct {
	fhirLoc
	idPath string
}

func (l fhirDeptLoc) at(field string) RowError {
	switch field {
	case FieldID:
		return l.fhirLoc.at(l.idPath)
	case FieldName:
		return l.fhirLoc.at("Organization.name")
	case FieldParentID:
		return l.fhirLoc.at("Organization.partOf")
	case FieldLeadID:
		return l.fhirLoc.at("Organization.extension(" + FHIRExtDepartmentLead + ")")
	}
	return l.fhirLoc.at(field)
}

type fhirParsed[T any] struct {
	loc      fhirLoc
	fullURL  string
	resource T
}

// ParseFHIR reads a FHIR R4 Bundle (JSON) of Practitioner, PractitionerRole
// and Organization resources; README.md gives the mapping. Every other
// resource type rejects its entry: a wrongly built export (Patients, say)
// must be noticed, not half imported. Problems name the entry index and
// resource ("entry[3] Practitioner/abc") and the FHIR element.
func ParseFHIR(r io.Reader, opts ParseOptions) ([]Person, []Department, error) {
	b := &batch{source: SourceFHIR}
	dec := json.NewDecoder(limit(r, opts))
	var bundle fhirBundle
	if err := dec.Decode(&bundle); err != nil {
		if !b.jsonFailure(err, dec, opts) {
			return nil, nil, fmt.Errorf("parse fhir: %w", err)
		}
		return nil, nil, b.reject()
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		b.fail(indexLoc{}, "", "unexpected data after the Bundle")
		return nil, nil, b.reject()
	}
	if bundle.ResourceType != "Bundle" {
		b.fail(indexLoc{}, "resourceType", fmt.Sprintf("%q is not Bundle", clip(bundle.ResourceType)))
		return nil, nil, b.reject()
	}
	if len(bundle.Entry) > opts.maxRows() {
		b.fail(fhirLoc{index: opts.maxRows()}, "", fmt.Sprintf("more than %d entries; split the bundle", opts.maxRows()))
		return nil, nil, b.reject()
	}

	var (
		practitioners []fhirParsed[fhirPractitioner]
		roles         []fhirParsed[fhirPractitionerRole]
		orgs          []fhirParsed[fhirOrganization]
	)
	for i, e := range bundle.Entry {
		loc := fhirLoc{index: i}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			b.fail(loc, "resource", "entry has no resource")
			continue
		}
		var head fhirHead
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			b.fail(loc, "resource", "not a FHIR resource: "+jsonReason(err))
			continue
		}
		loc.resource = clip(head.ResourceType + "/" + head.ID)
		if head.ID == "" {
			loc.resource = clip(head.ResourceType)
		}
		if len(head.ModifierExtension) > 0 {
			b.fail(loc, head.ResourceType+".modifierExtension", "not supported: a modifier extension may change the meaning of the resource")
			continue
		}
		var err error
		switch head.ResourceType {
		case fhirTypePractitioner:
			var p fhirPractitioner
			if err = json.Unmarshal(e.Resource, &p); err == nil {
				practitioners = append(practitioners, fhirParsed[fhirPractitioner]{loc, e.FullURL, p})
			}
		case fhirTypePractitionerRole:
			var pr fhirPractitionerRole
			if err = json.Unmarshal(e.Resource, &pr); err == nil {
				roles = append(roles, fhirParsed[fhirPractitionerRole]{loc, e.FullURL, pr})
			}
		case fhirTypeOrganization:
			var o fhirOrganization
			if err = json.Unmarshal(e.Resource, &o); err == nil {
				orgs = append(orgs, fhirParsed[fhirOrganization]{loc, e.FullURL, o})
			}
		case "":
			b.fail(loc, "resourceType", "missing")
			continue
		default:
			b.fail(loc, "resourceType", fmt.Sprintf("%s is not imported; a bundle may hold only Practitioner, PractitionerRole and Organization", clip(head.ResourceType)))
			continue
		}
		if err != nil {
			b.fail(loc, head.ResourceType, "malformed: "+jsonReason(err))
		}
	}

	m := newFHIRMapper(b, opts.FHIR)
	for _, o := range orgs {
		m.indexOrganization(o)
	}
	for _, p := range practitioners {
		m.indexPractitioner(p)
	}
	for _, o := range orgs {
		m.department(o)
	}
	for _, pr := range roles {
		m.assignRole(pr)
	}
	for _, p := range practitioners {
		m.person(p)
	}
	return b.finish(opts)
}

// clip keeps input echoed in a problem short enough to read.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s must be %s, not %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// fhirMapper resolves references inside the bundle and builds rows.
type fhirMapper struct {
	b    *batch
	opts FHIROptions
	// Bundle-internal references ("Practitioner/1" or an entry's fullUrl)
	// to deiops ids.
	personIDs map[string]string
	deptIDs   map[string]string
	// The PractitionerRole chosen for each practitioner (by reference key).
	roleOf map[string]fhirParsed[fhirPractitionerRole]
	// Where each chosen role came from, to name it in a conflict.
	roleKeys map[string]string
}

func newFHIRMapper(b *batch, opts FHIROptions) *fhirMapper {
	return &fhirMapper{
		b: b, opts: opts,
		personIDs: map[string]string{}, deptIDs: map[string]string{},
		roleOf: map[string]fhirParsed[fhirPractitionerRole]{}, roleKeys: map[string]string{},
	}
}

// identify picks the deiops id of a resource: the identifier of the
// configured system when there is one, else the resource id.
func identify(resourceType, id string, identifiers []fhirIdentifier, system string) (string, string) {
	if system != "" {
		for _, ident := range identifiers {
			if ident.System == system && strings.TrimSpace(ident.Value) != "" {
				return strings.TrimSpace(ident.Value), resourceType + ".identifier"
			}
		}
	}
	return strings.TrimSpace(id), resourceType + ".id"
}

func (m *fhirMapper) indexOrganization(o fhirParsed[fhirOrganization]) {
	id, _ := identify(fhirTypeOrganization, o.resource.ID, o.resource.Identifier, m.opts.OrganizationIdentifierSystem)
	m.remember(m.deptIDs, fhirTypeOrganization, o.resource.ID, o.fullURL, id)
}

func (m *fhirMapper) indexPractitioner(p fhirParsed[fhirPractitioner]) {
	id, _ := identify(fhirTypePractitioner, p.resource.ID, p.resource.Identifier, m.opts.PractitionerIdentifierSystem)
	m.remember(m.personIDs, fhirTypePractitioner, p.resource.ID, p.fullURL, id)
}

func (m *fhirMapper) remember(ids map[string]string, resourceType, resourceID, fullURL, id string) {
	if resourceID != "" {
		ids[resourceType+"/"+resourceID] = id
	}
	if fullURL != "" {
		ids[fullURL] = id
	}
}

// resolve maps a reference to a deiops id. A reference to a resource in the
// bundle gives that resource's deiops id; one outside the bundle
// ("Organization/x", "https://host/fhir/Practitioner/x") gives x, taken to be
// an id already in the directory; a logical reference gives its identifier
// value. ok is false when the reference names another resource type.
func resolve(ref *fhirReference, resourceType string, inBundle map[string]string) (id string, ok bool) {
	if ref == nil {
		return "", true
	}
	if r := strings.TrimSpace(ref.Reference); r != "" {
		if id, found := lookupInBundle(r, resourceType, inBundle); found {
			return id, true
		}
		typ, rid := splitReference(r)
		if typ == "" {
			return r, true // an unresolved urn:uuid is reported as an unknown id later
		}
		if typ != resourceType {
			return "", false
		}
		return rid, true
	}
	if ref.Identifier != nil {
		return strings.TrimSpace(ref.Identifier.Value), true
	}
	return "", true
}

// lookupInBundle finds the deiops id of a referenced bundle resource, by
// fullUrl or by "Type/id" (also at the end of an absolute or versioned URL).
func lookupInBundle(ref, resourceType string, inBundle map[string]string) (string, bool) {
	if id, found := inBundle[ref]; found {
		return id, true
	}
	if typ, rid := splitReference(ref); typ == resourceType {
		id, found := inBundle[typ+"/"+rid]
		return id, found
	}
	return "", false
}

// splitReference returns the type and id at the end of a literal reference
// ("Practitioner/1", "https://h/fhir/Practitioner/1/_history/2"), or empty
// strings for references without that shape (urn:uuid:...).
func splitReference(ref string) (typ, id string) {
	ref, _, _ = strings.Cut(ref, "/_history/")
	parts := strings.Split(ref, "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

func (m *fhirMapper) department(o fhirParsed[fhirOrganization]) {
	id, idPath := identify(fhirTypeOrganization, o.resource.ID, o.resource.Identifier, m.opts.OrganizationIdentifierSystem)
	loc := fhirDeptLoc{fhirLoc: o.loc, idPath: idPath}
	parent, ok := resolve(o.resource.PartOf, fhirTypeOrganization, m.deptIDs)
	if !ok {
		m.b.fail(loc, FieldParentID, "must refer to an Organization")
	}
	lead := ""
	if ext, ok := m.extension(o.resource.Extension, FHIRExtDepartmentLead, loc, FieldLeadID); ok {
		lead = m.personRef(ext, loc, FieldLeadID)
	}
	m.b.addDepartment(Department{
		ID: id, Name: strings.TrimSpace(o.resource.Name), ParentID: parent, LeadID: lead,
	}, loc)
}

// assignRole attaches a PractitionerRole to its practitioner. deiops keeps
// one department and role per person, so a second active role is an error
// rather than a silent choice; an inactive role yields to an active one.
func (m *fhirMapper) assignRole(pr fhirParsed[fhirPractitionerRole]) {
	ref := pr.resource.Practitioner
	if ref == nil || strings.TrimSpace(ref.Reference) == "" {
		m.b.fail(pr.loc, "PractitionerRole.practitioner", "required: a reference to a Practitioner in this bundle")
		return
	}
	key := strings.TrimSpace(ref.Reference)
	personID, inBundle := lookupInBundle(key, fhirTypePractitioner, m.personIDs)
	if !inBundle {
		m.b.fail(pr.loc, "PractitionerRole.practitioner", fmt.Sprintf("%q is not a Practitioner in this bundle", clip(key)))
		return
	}
	prev, taken := m.roleOf[personID]
	switch {
	case !taken:
	case isActive(prev.resource.Active) && isActive(pr.resource.Active):
		m.b.fail(pr.loc, "PractitionerRole", fmt.Sprintf("practitioner %q already has an active PractitionerRole at %s; deiops keeps one department and role per person", personID, where(prev.loc)))
		return
	case isActive(prev.resource.Active):
		return // keep the active one
	case !isActive(pr.resource.Active):
		return // both inactive: keep the first
	}
	m.roleOf[personID] = pr
}

func isActive(b *bool) bool { return b == nil || *b }

func (m *fhirMapper) person(p fhirParsed[fhirPractitioner]) {
	res := p.resource
	id, idPath := identify(fhirTypePractitioner, res.ID, res.Identifier, m.opts.PractitionerIdentifierSystem)
	loc := fhirPersonLoc{practitioner: p.loc, idPath: idPath}
	for _, ext := range res.Extension {
		if strings.HasPrefix(ext.URL, FHIRExtensionBase) {
			m.b.fail(p.loc, "Practitioner.extension("+ext.URL+")", "deiops extensions belong on the PractitionerRole")
		}
	}
	person := Person{
		ID:          id,
		DisplayName: displayName(res.Name),
		Email:       email(res.Telecom),
		Active:      isActive(res.Active),
	}
	role, hasRole := m.roleOf[id]
	if !hasRole {
		m.b.fail(p.loc, "", "no PractitionerRole in this bundle refers to this Practitioner; deiops takes department and role from it")
		m.b.suppress(loc, FieldDepartment, FieldRole)
		m.b.addPerson(person, loc) // still counted for ids and references
		return
	}
	loc.role = &role.loc
	rr := role.resource
	person.Active = person.Active && isActive(rr.Active)
	dept, ok := resolve(rr.Organization, fhirTypeOrganization, m.deptIDs)
	if !ok {
		m.b.fail(loc, FieldDepartment, "must refer to an Organization")
	}
	person.Department = dept
	person.Role = roleCode(rr.Code)
	if len(rr.Location) > 0 {
		// The Location need not be in the bundle: its id is the site.
		site, ok := resolve(&rr.Location[0], "Location", nil)
		if !ok {
			m.b.fail(loc, FieldSite, "must refer to a Location")
		}
		person.Site = site
	}
	if ext, ok := m.extension(rr.Extension, FHIRExtTrainingLevel, loc, FieldTrainingLevel); ok {
		person.TrainingLevel = m.text(ext, loc, FieldTrainingLevel)
	}
	if ext, ok := m.extension(rr.Extension, FHIRExtCohort, loc, FieldCohort); ok {
		person.Cohort = m.text(ext, loc, FieldCohort)
	}
	if ext, ok := m.extension(rr.Extension, FHIRExtSupervisor, loc, FieldSupervisorID); ok {
		person.SupervisorID = m.personRef(ext, loc, FieldSupervisorID)
	}
	m.b.addPerson(person, loc)
}

// extension finds the one extension with url; more than one is an error.
func (m *fhirMapper) extension(exts []fhirExtension, url string, loc locator, field string) (fhirExtension, bool) {
	var found *fhirExtension
	for i := range exts {
		if exts[i].URL != url {
			continue
		}
		if found != nil {
			m.b.fail(loc, field, "extension appears more than once")
			return fhirExtension{}, false
		}
		found = &exts[i]
	}
	if found == nil {
		return fhirExtension{}, false
	}
	return *found, true
}

// text reads a string-like extension value: valueString, valueCode,
// valueCoding.code or valueCodeableConcept (first code, else text).
func (m *fhirMapper) text(ext fhirExtension, loc locator, field string) string {
	switch {
	case ext.ValueString != nil:
		return strings.TrimSpace(*ext.ValueString)
	case ext.ValueCode != nil:
		return strings.TrimSpace(*ext.ValueCode)
	case ext.ValueCoding != nil:
		return strings.TrimSpace(ext.ValueCoding.Code)
	case ext.ValueCodeableConcept != nil:
		return roleCode([]fhirCodeableConcept{*ext.ValueCodeableConcept})
	}
	m.b.fail(loc, field, "extension needs valueString, valueCode, valueCoding or valueCodeableConcept")
	return ""
}

func (m *fhirMapper) personRef(ext fhirExtension, loc locator, field string) string {
	if ext.ValueReference == nil {
		m.b.fail(loc, field, "extension needs valueReference to a Practitioner")
		return ""
	}
	id, ok := resolve(ext.ValueReference, fhirTypePractitioner, m.personIDs)
	if !ok {
		m.b.fail(loc, field, "must refer to a Practitioner")
	}
	return id
}

// roleCode takes the first coding's code, else the concept's text.
func roleCode(concepts []fhirCodeableConcept) string {
	for _, c := range concepts {
		for _, cd := range c.Coding {
			if s := strings.TrimSpace(cd.Code); s != "" {
				return s
			}
		}
		if s := strings.TrimSpace(c.Text); s != "" {
			return s
		}
	}
	return ""
}

// displayName prefers the official name, then usual, then the first; text
// when given, else given names and family name.
func displayName(names []fhirHumanName) string {
	pick := -1
	for _, use := range []string{"official", "usual", ""} {
		for i, n := range names {
			if use == "" || n.Use == use {
				pick = i
				break
			}
		}
		if pick >= 0 {
			break
		}
	}
	if pick < 0 {
		return ""
	}
	n := names[pick]
	if t := strings.TrimSpace(n.Text); t != "" {
		return t
	}
	parts := make([]string, 0, len(n.Given)+1)
	for _, g := range n.Given {
		if g = strings.TrimSpace(g); g != "" {
			parts = append(parts, g)
		}
	}
	if f := strings.TrimSpace(n.Family); f != "" {
		parts = append(parts, f)
	}
	return strings.Join(parts, " ")
}

// email prefers a work address, else the first e-mail contact point.
func email(telecom []fhirContactPoint) string {
	first := ""
	for _, t := range telecom {
		if t.System != "email" || strings.TrimSpace(t.Value) == "" {
			continue
		}
		v := strings.TrimPrefix(strings.TrimSpace(t.Value), "mailto:")
		if t.Use == "work" {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}
