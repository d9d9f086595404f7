package guidance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/deiops/deiops/services/resolution/guidance"
)

func TestBuiltinIsValid(t *testing.T) {
	b := guidance.Builtin()
	if errs := b.Validate(); len(errs) != 0 {
		t.Fatalf("built-in guidance is invalid: %+v", errs)
	}
	var codes []string
	for _, o := range b.Options {
		codes = append(codes, o.Code)
	}
	if !slices.Equal(codes, guidance.OptionCodes()) {
		t.Errorf("built-in options %q, want all of %q", codes, guidance.OptionCodes())
	}
}

func TestLimitsCountCharactersNotBytes(t *testing.T) {
	g := sample(strings.Repeat("é", guidance.MaxTitleRunes))
	g.Steps[0].Detail = strings.Repeat("漢", guidance.MaxTextRunes)
	if errs := g.Validate(); len(errs) != 0 {
		t.Fatalf("at the limits: %+v", errs)
	}
	g.Steps[0].Detail += "字"
	if errs := g.Validate(); len(errs) != 1 || errs[0].Field != "steps[0].detail" {
		t.Fatalf("over the limit: %+v", errs)
	}
}

func TestTextRules(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(*guidance.Guidance)
		field string
	}{
		{"line break in a title", func(g *guidance.Guidance) { g.Steps[1].Title = "a\nb" }, "steps[1].title"},
		{"escape in a detail", func(g *guidance.Guidance) { g.Steps[0].Detail = "a\x1b[31m" }, "steps[0].detail"},
		{"invalid utf-8", func(g *guidance.Guidance) { g.Contacts[0].Name = "\xff" }, "contacts[0].name"},
		{"line separator in hours", func(g *guidance.Guidance) { g.Contacts[0].Hours = "a\u2028b" }, "contacts[0].hours"},
		{"phone without digits", func(g *guidance.Guidance) { g.Contacts[0].Phone = "+()" }, "contacts[0].phone"},
		{"e-mail without a domain dot", func(g *guidance.Guidance) { g.Contacts[0].Email = "dei@localhost" }, "contacts[0].email"},
		{"role too long", func(g *guidance.Guidance) { g.Contacts[0].Role = strings.Repeat("r", 65) }, "contacts[0].role"},
		{"too many steps", func(g *guidance.Guidance) {
			g.Steps = make([]guidance.Step, guidance.MaxSteps+1)
			for i := range g.Steps {
				g.Steps[i].Title = "s"
			}
		}, "steps"},
		{"too much text in all", func(g *guidance.Guidance) {
			g.Steps = make([]guidance.Step, guidance.MaxSteps)
			for i := range g.Steps {
				g.Steps[i] = guidance.Step{Title: "s", Detail: strings.Repeat("x", guidance.MaxTextRunes)}
			}
		}, "(root)"},
	} {
		g := sample("Title")
		c.edit(&g)
		errs := g.Validate()
		if len(errs) != 1 || errs[0].Field != c.field {
			t.Errorf("%s: %+v, want one problem at %s", c.name, errs, c.field)
		}
	}
	g := sample("Title")
	g.Steps[0].Detail = "line one\r\nline two\n\tindented"
	if errs := g.Validate(); len(errs) != 0 {
		t.Errorf("multiline detail: %+v", errs)
	}
}
