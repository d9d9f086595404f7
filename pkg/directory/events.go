package directory

import "github.com/deiops/deiops/pkg/events"

// Change kinds carried by PersonUpdated and DepartmentUpdated.
const (
	ChangeCreated     = "created"
	ChangeUpdated     = "updated"
	ChangeDeactivated = "deactivated"
)

// EventService is the events.Spec service of every directory event.
const EventService = "directory"

// PersonUpdated says a person was created or changed. It carries the state
// after the change, so a consumer can upsert without reading the directory.
// Names and e-mail addresses are left out on purpose: integrators resolve
// ids in their own HR system, and the event stream is not a copy of it.
type PersonUpdated struct {
	PersonID      string `json:"person_id" desc:"Directory id of the person" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
	Department    string `json:"department" desc:"Department id" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
	Role          string `json:"role" desc:"Role as imported, e.g. resident, attending, nurse, staff"`
	TrainingLevel string `json:"training_level" desc:"Training level, e.g. PGY-1; empty when none"`
	Cohort        string `json:"cohort" desc:"Training cohort, e.g. 2026; empty when none"`
	Site          string `json:"site" desc:"Site; empty when unknown"`
	SupervisorID  string `json:"supervisor_id" desc:"Person id of the direct supervisor; empty when none" pattern:"^[A-Za-z0-9._:-]{0,128}$"`
	Active        bool   `json:"active" desc:"False once the person has left or is otherwise deactivated"`
	Change        string `json:"change" enum:"created,updated,deactivated" desc:"created: new person; deactivated: active became false; updated: any other change, including reactivation"`
}

// EventSpec declares the event.
func (PersonUpdated) EventSpec() events.Spec {
	return events.Spec{
		Service: EventService, Entity: "person", Action: "updated", Version: 1, Platform: true,
		Summary: "A person was created, changed or deactivated in the directory (ids and attributes only, no names)",
	}
}

// DepartmentUpdated says a department was created or changed.
type DepartmentUpdated struct {
	DepartmentID string `json:"department_id" desc:"Directory id of the department" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
	Name         string `json:"name" desc:"Department name"`
	ParentID     string `json:"parent_id" desc:"Id of the parent department; empty at the top level" pattern:"^[A-Za-z0-9._:-]{0,128}$"`
	LeadID       string `json:"lead_id" desc:"Person id of the department lead; empty when unknown" pattern:"^[A-Za-z0-9._:-]{0,128}$"`
	Change       string `json:"change" enum:"created,updated" desc:"created: new department; updated: any change"`
}

// EventSpec declares the event.
func (DepartmentUpdated) EventSpec() events.Spec {
	return events.Spec{
		Service: EventService, Entity: "department", Action: "updated", Version: 1, Platform: true,
		Summary: "A department was created or changed in the directory",
	}
}

// ImportCompleted says an import changed the directory; it follows the
// person and department events of that import. An import that changes
// nothing publishes nothing.
type ImportCompleted struct {
	ImportID             string `json:"import_id" desc:"Id of the import, also returned to whoever uploaded it"`
	Source               string `json:"source" enum:"csv,json,fhir" desc:"Import format"`
	Rows                 int    `json:"rows" desc:"People and departments read from the file"`
	PeopleCreated        int    `json:"people_created" desc:"People added"`
	PeopleUpdated        int    `json:"people_updated" desc:"People changed, not counting deactivations"`
	PeopleDeactivated    int    `json:"people_deactivated" desc:"People whose active flag became false"`
	PeopleUnchanged      int    `json:"people_unchanged" desc:"People in the file identical to the directory"`
	DepartmentsCreated   int    `json:"departments_created" desc:"Departments added"`
	DepartmentsUpdated   int    `json:"departments_updated" desc:"Departments changed"`
	DepartmentsUnchanged int    `json:"departments_unchanged" desc:"Departments in the file identical to the directory"`
}

// EventSpec declares the event.
func (ImportCompleted) EventSpec() events.Spec {
	return events.Spec{
		Service: EventService, Entity: "import", Action: "completed", Version: 1, Platform: true,
		Summary: "A directory import was applied; counts of what it changed",
	}
}

// Events lists every event type the directory publishes, for the catalog.
func Events() []events.Event {
	return []events.Event{PersonUpdated{}, DepartmentUpdated{}, ImportCompleted{}}
}

func personEvent(p Person, change string) PersonUpdated {
	return PersonUpdated{
		PersonID: p.ID, Department: p.Department, Role: p.Role,
		TrainingLevel: p.TrainingLevel, Cohort: p.Cohort, Site: p.Site,
		SupervisorID: p.SupervisorID, Active: p.Active, Change: change,
	}
}

func departmentEvent(d Department, change string) DepartmentUpdated {
	return DepartmentUpdated{
		DepartmentID: d.ID, Name: d.Name, ParentID: d.ParentID, LeadID: d.LeadID, Change: change,
	}
}
