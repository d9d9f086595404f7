package devenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/deiops/deiops/pkg/auth"
	"github.com/deiops/deiops/pkg/auth/devoidc"
	"github.com/deiops/deiops/pkg/caller"
)

// Persona is one person of the development directory and the platform
// roles the development identity provider gives them.
type Persona struct {
	ID, Name, Department, Role, TrainingLevel, Supervisor string
	About                                                 string
	Roles                                                 []string
}

// Personas are the people `deiops dev` seeds and lets a developer sign in
// as: enough for every page to have content. The chain in medicine is
// chief ← attending ← resident, so a report by the resident naming the
// attending excludes the attending and the chief from handling it.
func Personas() []Persona {
	return []Persona{
		{ID: "dev-resident", Name: "Mei Chen", Department: "med", Role: "resident", TrainingLevel: "PGY-1", Supervisor: "dev-attending",
			About: "Resident (PGY-1), Internal Medicine: reports a concern", Roles: []string{"resident", "staff"}},
		{ID: "dev-resolver", Name: "Sam Rivera", Department: "med", Role: "resolver",
			About: "Resolver, Internal Medicine: first level of the case queue", Roles: []string{"resolver", "staff"}},
		{ID: "dev-handler2", Name: "Kim Park", Department: "med", Role: "department_lead",
			About: "Department lead, Internal Medicine: second-level handler", Roles: []string{"resolver", "department_lead", "staff"}},
		{ID: "dev-officer", Name: "Noor Haddad", Department: "dei", Role: "dei_officer",
			About: "DEI officer: sees every case, patterns and audit trails", Roles: []string{"dei_officer", "staff"}},
		{ID: "dev-chief", Name: "Amara Okafor", Department: "med", Role: "attending",
			About: "Chief of Medicine: a supervisor (kept off cases naming their reports)", Roles: []string{"supervisor", "program_director", "staff"}},
		{ID: "dev-attending", Name: "Luis Fernandez", Department: "med", Role: "attending", Supervisor: "dev-chief",
			About: "Attending physician, Internal Medicine", Roles: []string{"staff"}},
		{ID: "dev-admin", Name: "Dev Admin", Department: "dei", Role: "staff",
			About: "Platform administrator", Roles: []string{"admin", "dei_officer", "coordinator"}},
	}
}

// OIDCPersonas are the personas as the identity provider shows them.
func OIDCPersonas() []devoidc.Persona {
	var out []devoidc.Persona
	for _, p := range Personas() {
		out = append(out, devoidc.Persona{Subject: p.ID, Name: p.Name, About: p.About, Roles: p.Roles})
	}
	return out
}

// directoryImport is the seed in the directory's JSON import format.
func directoryImport() ([]byte, error) {
	type dept struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		LeadID string `json:"lead_id,omitempty"`
	}
	type person struct {
		ID            string `json:"id"`
		DisplayName   string `json:"display_name"`
		Email         string `json:"email"`
		Department    string `json:"department"`
		Role          string `json:"role"`
		TrainingLevel string `json:"training_level,omitempty"`
		Site          string `json:"site"`
		SupervisorID  string `json:"supervisor_id,omitempty"`
	}
	doc := struct {
		Departments []dept   `json:"departments"`
		People      []person `json:"people"`
	}{Departments: []dept{{ID: "med", Name: "Internal Medicine"}, {ID: "dei", Name: "Office of Diversity, Equity and Inclusion"}}}
	for _, p := range Personas() {
		doc.People = append(doc.People, person{ID: p.ID, DisplayName: p.Name, Email: p.ID + "@dev.deiops.local",
			Department: p.Department, Role: p.Role, TrainingLevel: p.TrainingLevel, Site: "north", SupervisorID: p.Supervisor})
	}
	return json.Marshal(doc)
}

// SeedDirectory imports the development directory through the real
// directory import API when it does not hold the personas yet, so the
// persona picker and the case queue have content on a first start. It
// waits for the API to answer (up to a minute) and is a no-op afterwards.
func SeedDirectory(ctx context.Context, apiURL string, dev *auth.DevIssuer) (bool, error) {
	token, err := dev.Mint("dev-seed", []string{string(caller.Admin)}, 5*time.Minute)
	if err != nil {
		return false, err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string, body []byte) (int, error) {
		req, err := http.NewRequestWithContext(ctx, method, apiURL+path, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		status, err := do(http.MethodGet, "/v1/directory/people/dev-resident", nil)
		if err == nil && status == http.StatusOK {
			return false, nil
		}
		if err == nil && status == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("seed directory: the API did not answer within a minute (last status %d, error %v)", status, err)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-tick.C:
		}
	}
	body, err := directoryImport()
	if err != nil {
		return false, err
	}
	status, err := do(http.MethodPost, "/v1/directory/imports", body)
	if err != nil {
		return false, fmt.Errorf("seed directory: %w", err)
	}
	if status != http.StatusOK {
		return false, fmt.Errorf("seed directory: import answered %d", status)
	}
	return true, nil
}
