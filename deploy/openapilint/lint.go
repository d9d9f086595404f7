// Package openapilint validates the committed OpenAPI documents
// (docs/openapi/*.json) with a real OpenAPI validator, libopenapi and
// libopenapi-validator: each document is parsed, its model built (so every
// $ref must resolve) and then checked against the OpenAPI 3.1 schema. Its
// test runs in `make test` (`make openapi-lint`). It is a module of its own,
// outside go.work, so the validator's dependencies never change the versions
// the platform's modules build with; the drift check (`make docs-check`) only says the
// documents match the routes, this says they are valid OpenAPI.
package openapilint

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
)

// Lint returns every problem the validator finds in the document spec, one
// error each, or nil when it is valid.
func Lint(spec []byte) []error {
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		return []error{fmt.Errorf("parse: %w", err)}
	}
	var problems []error
	if _, err := doc.BuildV3Model(); err != nil {
		for _, e := range unjoin(err) {
			problems = append(problems, fmt.Errorf("model: %w", e))
		}
	}
	v, errs := validator.NewValidator(doc)
	for _, e := range errs {
		problems = append(problems, fmt.Errorf("validator: %w", e))
	}
	if v == nil {
		return problems
	}
	if ok, verrs := v.ValidateDocument(); !ok || len(verrs) > 0 {
		for _, ve := range verrs {
			problems = append(problems, describe(ve))
		}
		if len(verrs) == 0 {
			problems = append(problems, errors.New("document is not valid (no details given)"))
		}
	}
	return problems
}

// LintFile is Lint on the file at path, each problem prefixed with the path.
func LintFile(path string) []error {
	spec, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	problems := Lint(spec)
	for i, p := range problems {
		problems[i] = fmt.Errorf("%s: %w", path, p)
	}
	return problems
}

// describe renders a validation error with each schema failure and where
// it is, so a failing CI run says what to fix.
func describe(ve *liberrors.ValidationError) error {
	var b strings.Builder
	b.WriteString(ve.Message)
	if ve.Reason != "" {
		b.WriteString(": ")
		b.WriteString(ve.Reason)
	}
	if ve.SpecLine > 0 {
		fmt.Fprintf(&b, " (line %d, column %d)", ve.SpecLine, ve.SpecCol)
	}
	for _, f := range ve.SchemaValidationErrors {
		b.WriteString("\n    ")
		if f.FieldPath != "" {
			b.WriteString(f.FieldPath)
			b.WriteString(": ")
		}
		b.WriteString(f.Reason)
		if f.KeywordLocation != "" {
			fmt.Fprintf(&b, " [schema %s]", f.KeywordLocation)
		}
		if f.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", f.Line)
		}
	}
	if ve.HowToFix != "" {
		b.WriteString("\n    fix: ")
		b.WriteString(ve.HowToFix)
	}
	return errors.New(b.String())
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
