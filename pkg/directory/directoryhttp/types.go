package directoryhttp

import "github.com/deiops/deiops/pkg/directory"

// ImportResponse answers an accepted import.
type ImportResponse struct {
	ImportID string       `json:"import_id" desc:"Id of the import; the ImportCompleted event carries it"`
	Source   string       `json:"source" enum:"csv,json,fhir" desc:"Format the file was read as"`
	Applied  bool         `json:"applied" desc:"False when the file matched the directory exactly: nothing was written or published"`
	Counts   ImportCounts `json:"counts"`
}

// ImportCounts compares the rows of a file with the directory.
type ImportCounts struct {
	Rows                 int `json:"rows" desc:"People and departments read from the file"`
	PeopleCreated        int `json:"people_created"`
	PeopleUpdated        int `json:"people_updated" desc:"People changed, not counting deactivations"`
	PeopleDeactivated    int `json:"people_deactivated" desc:"People whose active flag became false"`
	PeopleUnchanged      int `json:"people_unchanged"`
	DepartmentsCreated   int `json:"departments_created"`
	DepartmentsUpdated   int `json:"departments_updated"`
	DepartmentsUnchanged int `json:"departments_unchanged"`
}

func importResponse(r directory.ImportResult) ImportResponse {
	c := r.Counts
	return ImportResponse{
		ImportID: r.ImportID, Source: string(r.Source), Applied: r.Applied,
		Counts: ImportCounts{
			Rows: c.Rows, PeopleCreated: c.PeopleCreated, PeopleUpdated: c.PeopleUpdated,
			PeopleDeactivated: c.PeopleDeactivated, PeopleUnchanged: c.PeopleUnchanged,
			DepartmentsCreated: c.DepartmentsCreated, DepartmentsUpdated: c.DepartmentsUpdated,
			DepartmentsUnchanged: c.DepartmentsUnchanged,
		},
	}
}

// Person is one person as the API shows them.
type Person struct {
	ID            string `json:"id" pattern:"^[A-Za-z0-9._:-]{1,128}$"`
	DisplayName   string `json:"display_name"`
	Email         string `json:"email,omitempty" desc:"Only for admin and dei_officer callers, and only when known"`
	Department    string `json:"department" desc:"Department id"`
	Role          string `json:"role"`
	TrainingLevel string `json:"training_level" desc:"Empty when none"`
	Cohort        string `json:"cohort" desc:"Empty when none"`
	Site          string `json:"site" desc:"Empty when unknown"`
	SupervisorID  string `json:"supervisor_id" desc:"Person id of the direct supervisor; empty when none"`
	Active        bool   `json:"active"`
}

func personResponse(p directory.Person, withEmail bool) Person {
	out := Person{
		ID: p.ID, DisplayName: p.DisplayName, Department: p.Department, Role: p.Role,
		TrainingLevel: p.TrainingLevel, Cohort: p.Cohort, Site: p.Site,
		SupervisorID: p.SupervisorID, Active: p.Active,
	}
	if withEmail {
		out.Email = p.Email
	}
	return out
}

// SupervisorChain lists who is above a person.
type SupervisorChain struct {
	PersonID      string   `json:"person_id"`
	SupervisorIDs []string `json:"supervisor_ids" desc:"Direct supervisor first, then theirs, and so on; inactive people included; empty at the top"`
}
