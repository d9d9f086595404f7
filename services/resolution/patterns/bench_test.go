package patterns

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// preload returns an engine holding reports 0..n-1 of the synthetic stream.
func preload(b *testing.B, s *synth, n int) *Engine {
	b.Helper()
	e := mustNew(b, Options{})
	for i := range n {
		if !e.Observe(s.obs(i)) {
			b.Fatalf("preload: report %d not applied", i)
		}
	}
	// Finish the collection the preload provoked, so the timed loop does
	// not pay for marking a heap it did not build.
	runtime.GC()
	return e
}

// BenchmarkObserve shows that observing costs the same with 10k or 1M
// reports already applied. Only Observe is timed: reports are generated
// in untimed batches.
func BenchmarkObserve(b *testing.B) {
	s := newSynth()
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("preloaded=%d", n), func(b *testing.B) {
			e := preload(b, s, n) // before b.Loop: not timed
			b.ReportAllocs()
			batch, used := make([]Observation, 8192), 8192
			next := n
			for b.Loop() {
				if used == len(batch) {
					b.StopTimer()
					for j := range batch {
						batch[j] = s.obs(next)
						next++
					}
					used = 0
					b.StartTimer()
				}
				if !e.Observe(batch[used]) {
					b.Fatal("report not applied")
				}
				used++
			}
		})
	}
}

// BenchmarkDetect runs Detect over 1,000,000 reports (30 departments ×
// 8 categories × 52 weeks) and reports the 99th-percentile latency.
func BenchmarkDetect(b *testing.B) {
	e := preload(b, newSynth(), 1_000_000)
	now := weekTime(51).Add(time.Hour)
	var durations []time.Duration
	var found int
	for b.Loop() {
		start := time.Now()
		found = len(e.Detect(now))
		durations = append(durations, time.Since(start))
	}
	if found == 0 {
		b.Fatal("no detections over the synthetic year") // every pair crosses Threshold
	}
	slices.Sort(durations)
	p99 := durations[(len(durations)*99+99)/100-1] // nearest rank
	b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
}
