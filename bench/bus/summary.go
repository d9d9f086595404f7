package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

// printMachine prints what the figures depend on, before them.
func printMachine(rounds, n, wave int) {
	fmt.Printf("# %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Printf("# command: make bench-bus (cd bench/bus && GOWORK=off go run . -rounds=%d -n=%d -wave=%d)\n", rounds, n, wave)
	fmt.Printf("# machine: %s, %d CPUs, %s RAM, %s\n", cpuModel(), runtime.NumCPU(), memTotal(), kernel())
	fmt.Printf("# %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			for _, want := range []string{"nats-server/v2", "nats.go", "watermill", "sdk-go", "go.opentelemetry.io/otel/sdk"} {
				if strings.Contains(d.Path, want) {
					fmt.Printf(", %s %s", strings.TrimPrefix(d.Path, "github.com/"), d.Version)
					break
				}
			}
		}
	}
	fmt.Printf("\n# load at start %s\n", loadavg())
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			var kb int
			fmt.Sscan(f[1], &kb)
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func kernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return runtime.GOOS
	}
	s := func(a [65]int8) string {
		b := make([]byte, 0, len(a))
		for _, c := range a {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		return string(b)
	}
	return s(u.Sysname) + " " + s(u.Release)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarise prints the medians of every benchmark and the ratios of the
// platform to each other path. A ratio is the median over rounds of the
// ratio within a round, so both figures come from runs seconds apart.
func summarise(w io.Writer, samples []sample, rounds int) {
	by := map[string][]sample{}
	var names []string
	for _, s := range samples {
		if _, ok := by[s.name()]; !ok {
			names = append(names, s.name())
		}
		by[s.name()] = append(by[s.name()], s)
	}
	med := func(name string, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range by[name] {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	fmt.Fprintf(w, "Medians of %d rounds:\n\n", rounds)
	fmt.Fprintln(w, "| benchmark | msgs/run | msgs/s | cpu-ns/msg | allocs/msg | B/msg |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, name := range names {
		fmt.Fprintf(w, "| %s | %d | %.0f | %.0f | %.1f | %.0f |\n", name, by[name][0].msgs,
			med(name, sample.rate), med(name, sample.cpuPerMsg), med(name, sample.allocsPerMsg), med(name, sample.bytesPerMsg))
	}

	// perRound is the median over rounds of f(platform run) ÷ f(other run).
	perRound := func(a, b string, f func(sample) float64) (float64, bool) {
		pa, pb := by[a], by[b]
		if len(pa) == 0 || len(pb) == 0 {
			return 0, false
		}
		var xs []float64
		for i := range min(len(pa), len(pb)) {
			xs = append(xs, f(pa[i])/f(pb[i]))
		}
		return median(xs), true
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Platform ÷ each (msgs/s, median of the per-round ratios; in brackets the CPU ratio, other cpu-ns/msg ÷ platform cpu-ns/msg; > 1 means the platform is ahead):")
	fmt.Fprintln(w)
	others := []string{"watermill", "sdk", "wire", "raw"}
	fmt.Fprintln(w, "| | target | ÷ watermill | ÷ sdk | ÷ wire | ÷ raw |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|")
	for _, op := range []string{"Publish", "Consume"} {
		for _, size := range []string{"256B", "4KiB"} {
			p := op + "/platform/" + size
			fmt.Fprintf(w, "| %s %s | ≥ 1.0 / 1.0 / 0.8 / – |", op, size)
			for _, o := range others {
				q := op + "/" + o + "/" + size
				r, ok := perRound(p, q, sample.rate)
				c, _ := perRound(q, p, sample.cpuPerMsg)
				if !ok {
					fmt.Fprint(w, " – |")
					continue
				}
				fmt.Fprintf(w, " %.2f (%.2f) |", r, c)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	for _, size := range []string{"256B", "4KiB"} {
		b, p := "Publish/batch/"+size, "Publish/platform/"+size
		if len(by[b]) == 0 || len(by[p]) == 0 {
			continue
		}
		r, _ := perRound(b, p, sample.rate)
		fmt.Fprintf(w, "Batched publish of %d events ÷ one-at-a-time publish, %s: %.1fx (target ≥ 5x)\n", by[b][0].msgs, size, r)
	}
}
