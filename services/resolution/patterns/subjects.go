package patterns

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"time"
)

// SubjectMatch is a subject named by at least two distinct reporters.
type SubjectMatch struct {
	// ID is a digest of the subject hash: stable across runs and engines,
	// but it does not expose the keyed hash itself.
	ID                string    `json:"id"`
	Reports           int       `json:"reports"`            // reports naming the subject
	DistinctReporters int       `json:"distinct_reporters"` // reporter hashes plus anonymous cases
	AnonymousReports  int       `json:"anonymous_reports"`  // how many of Reports were anonymous
	Cases             []string  `json:"cases"`              // sorted
	Departments       []string  `json:"departments"`        // sorted
	First             time.Time `json:"first"`
	Last              time.Time `json:"last"`
}

// RepeatSubjects returns every subject named by at least two distinct
// reporters, most reporters first, then most reports, then by ID.
func (e *Engine) RepeatSubjects() []SubjectMatch {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]SubjectMatch, 0, len(e.repeats))
	for h, s := range e.repeats {
		out = append(out, SubjectMatch{
			ID:                subjectID(h),
			Reports:           s.reports,
			DistinctReporters: len(s.reporters),
			AnonymousReports:  s.anonymous,
			Cases:             slices.Sorted(maps.Keys(s.cases)),
			Departments:       slices.Sorted(maps.Keys(s.departments)),
			First:             s.first,
			Last:              s.last,
		})
	}
	slices.SortFunc(out, func(a, b SubjectMatch) int {
		return cmp.Or(cmp.Compare(b.DistinctReporters, a.DistinctReporters),
			cmp.Compare(b.Reports, a.Reports),
			cmp.Compare(a.ID, b.ID))
	})
	return out
}

// subjectID derives the public match ID from a subject hash. The domain
// prefix keeps it from colliding with digests made for other purposes.
func subjectID(h string) string {
	sum := sha256.Sum256([]byte("deiops/patterns/subject\x00" + h))
	return "subj-" + hex.EncodeToString(sum[:16])
}
