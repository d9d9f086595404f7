package matching

import "math/bits"

// scorer computes Score for every pair fast: values become bit positions
// in per-category vocabularies, so shared counts are popcounts.
type scorer struct {
	w                              Weights
	eI, eE, eL, eA, oI, oE, oL, oA []uint64 // flattened bitsets
	wI, wE, wL, wA                 int      // words per bitset
	eS, oS                         []int32  // specialty ids (-1 none)
	eWeek, oWeek                   []Week
	eWants, oAff                   []bool
	avoid, chain                   []map[string]bool
	mentorIDs                      []string
}

type vocab map[string]int

func (v vocab) id(s string) int {
	s = norm(s)
	if s == "" {
		return -1
	}
	if i, ok := v[s]; ok {
		return i
	}
	v[s] = len(v)
	return len(v) - 1
}

func bitsets(lists [][]string) ([]uint64, int) {
	v := vocab{}
	ids := make([][]int, len(lists))
	for i, l := range lists {
		for _, s := range l {
			if id := v.id(s); id >= 0 {
				ids[i] = append(ids[i], id)
			}
		}
	}
	words := max(1, (len(v)+63)/64)
	out := make([]uint64, len(lists)*words)
	for i, l := range ids {
		for _, id := range l {
			out[i*words+id/64] |= 1 << (id % 64)
		}
	}
	return out, words
}

func newScorer(mentees []Mentee, mentors []Mentor, opt Options) *scorer {
	s := &scorer{w: opt.Weights}
	cat := func(f func(Attributes) []string) ([]uint64, []uint64, int) {
		all := make([][]string, 0, len(mentees)+len(mentors))
		for _, e := range mentees {
			all = append(all, f(e.Attributes))
		}
		for _, o := range mentors {
			all = append(all, f(o.Attributes))
		}
		b, w := bitsets(all)
		return b[:len(mentees)*w], b[len(mentees)*w:], w
	}
	s.eI, s.oI, s.wI = cat(func(a Attributes) []string { return a.Interests })
	s.eE, s.oE, s.wE = cat(func(a Attributes) []string { return a.Experiences })
	s.eL, s.oL, s.wL = cat(func(a Attributes) []string { return a.Languages })
	s.eA, s.oA, s.wA = cat(func(a Attributes) []string { return a.Affinities })
	spec := vocab{}
	for _, e := range mentees {
		s.eS = append(s.eS, int32(spec.id(e.Specialty)))
		s.eWeek = append(s.eWeek, e.Availability)
		s.eWants = append(s.eWants, e.WantsAffinity)
		s.avoid = append(s.avoid, set(e.Avoid))
		s.chain = append(s.chain, set(e.Chain))
	}
	for _, o := range mentors {
		s.oS = append(s.oS, int32(spec.id(o.Specialty)))
		s.oWeek = append(s.oWeek, o.Availability)
		s.oAff = append(s.oAff, o.AffinityMentoring)
		s.mentorIDs = append(s.mentorIDs, o.ID)
	}
	return s
}

func set(l []string) map[string]bool {
	if len(l) == 0 {
		return nil
	}
	m := make(map[string]bool, len(l))
	for _, x := range l {
		m[x] = true
	}
	return m
}

func common(a, b []uint64) int {
	n := 0
	for k := range a {
		n += bits.OnesCount64(a[k] & b[k])
	}
	return n
}

func (s *scorer) score(i, j int) int {
	w := s.w
	t := w.Interest * min(common(s.eI[i*s.wI:(i+1)*s.wI], s.oI[j*s.wI:(j+1)*s.wI]), MaxSharedInterests)
	t += w.Experience * min(common(s.eE[i*s.wE:(i+1)*s.wE], s.oE[j*s.wE:(j+1)*s.wE]), MaxSharedExperiences)
	if s.eS[i] >= 0 && s.eS[i] == s.oS[j] {
		t += w.Specialty
	}
	t += w.Language * min(common(s.eL[i*s.wL:(i+1)*s.wL], s.oL[j*s.wL:(j+1)*s.wL]), MaxSharedLanguages)
	t += w.Availability * min(s.eWeek[i].Overlap(s.oWeek[j]), MaxOverlapHours)
	if s.eWants[i] && s.oAff[j] {
		t += w.Affinity * min(common(s.eA[i*s.wA:(i+1)*s.wA], s.oA[j*s.wA:(j+1)*s.wA]), MaxSharedAffinities)
	}
	return t
}

func (s *scorer) violations(i, j int) uint8 {
	var v uint8
	id := s.mentorIDs[j]
	if s.chain[i][id] {
		v |= vChain
	}
	if s.avoid[i][id] {
		v |= vAvoid
	}
	return v
}
