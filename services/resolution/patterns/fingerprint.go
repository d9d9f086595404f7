package patterns

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"maps"
	"slices"
	"time"
)

// Fingerprint returns a SHA-256 (hex) of all aggregate state: report and
// involvement counts, the subject index and the number of observations
// applied. The encoding is canonical (sorted, length-prefixed), so two
// engines fed the same set of events in any order, with any duplicates,
// have equal fingerprints: a rebuilt engine can be checked against the
// live one. Options are not part of the state and not included.
func (e *Engine) Fingerprint() string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := fingerprinter{h: sha256.New()}
	f.str("deiops/patterns/fingerprint/v1")
	f.int(int64(len(e.seen)))

	keys := slices.SortedFunc(maps.Keys(e.series), func(a, b seriesKey) int {
		return cmp.Or(cmp.Compare(a.dept, b.dept), cmp.Compare(a.cat, b.cat))
	})
	f.int(int64(len(keys)))
	for _, k := range keys {
		s := e.series[k]
		f.str(k.dept)
		f.str(k.cat)
		f.int(int64(s.first))
		weeks := slices.Sorted(maps.Keys(s.weeks))
		f.int(int64(len(weeks)))
		for _, w := range weeks {
			f.int(int64(w))
			f.int(int64(s.weeks[w]))
		}
	}

	roles := slices.SortedFunc(maps.Keys(e.roles), func(a, b roleKey) int {
		return cmp.Or(cmp.Compare(a.dept, b.dept), cmp.Compare(a.cat, b.cat),
			cmp.Compare(a.role, b.role), cmp.Compare(a.w, b.w))
	})
	f.int(int64(len(roles)))
	for _, k := range roles {
		f.str(k.dept)
		f.str(k.cat)
		f.str(k.role)
		f.int(int64(k.w))
		f.int(int64(e.roles[k]))
	}

	subjects := slices.Sorted(maps.Keys(e.subjects))
	f.int(int64(len(subjects)))
	for _, h := range subjects {
		s := e.subjects[h]
		f.str(h)
		f.int(int64(s.reports))
		f.int(int64(s.anonymous))
		reporters := slices.SortedFunc(maps.Keys(s.reporters), func(a, b reporterKey) int {
			return cmp.Or(cmp.Compare(boolInt(a.anonymous), boolInt(b.anonymous)), cmp.Compare(a.id, b.id))
		})
		f.int(int64(len(reporters)))
		for _, r := range reporters {
			f.int(boolInt(r.anonymous))
			f.str(r.id)
		}
		f.strs(slices.Sorted(maps.Keys(s.cases)))
		f.strs(slices.Sorted(maps.Keys(s.departments)))
		f.time(s.first)
		f.time(s.last)
	}
	return hex.EncodeToString(f.h.Sum(nil))
}

// fingerprinter writes a canonical, self-delimiting encoding to a hash.
type fingerprinter struct {
	h   hash.Hash
	buf []byte
}

func (f *fingerprinter) int(v int64) {
	f.buf = binary.AppendVarint(f.buf[:0], v)
	f.h.Write(f.buf)
}

func (f *fingerprinter) str(s string) {
	f.int(int64(len(s)))
	f.h.Write([]byte(s))
}

func (f *fingerprinter) strs(ss []string) {
	f.int(int64(len(ss)))
	for _, s := range ss {
		f.str(s)
	}
}

func (f *fingerprinter) time(t time.Time) {
	f.int(t.Unix())
	f.int(int64(t.Nanosecond()))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
