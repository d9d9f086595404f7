// Command bus measures the deiops event bus (pkg/bus) side by side with
// what a Go team would otherwise use to put CloudEvents on JetStream —
// Watermill with watermill-nats and the CloudEvents Go SDK — and with the
// plain JetStream client sending the bus's exact headers (wire) or the
// payload alone (raw). All paths run in one process against one embedded
// server, interleaved: every round runs every path at every size, in an
// order that rotates from round to round, so that load from other work
// falls on all of them alike. See BENCHMARKS.md.
//
//	go run . [-rounds 5] [-n 20000] [-wave 50000]
//
// It lives in a module of its own so that the peers' dependencies never
// reach the platform's modules.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	n := flag.Int("n", 20_000, "messages per publish or consume run")
	wave := flag.Int("wave", 50_000, "events per batched publish run (a cohort wave)")
	only := flag.String("paths", "", "comma-separated subset of paths (default all)")
	ops := flag.String("ops", "Publish,Consume", "which operations to run")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.StringVar(&profileDir, "profiledir", "", "write a CPU profile of each timed run into this directory")
	memprofile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file")
	flag.Parse()
	if *memprofile != "" {
		defer func() {
			if f, err := os.Create(*memprofile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				_ = f.Close()
			}
		}()
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rounds, *n, *wave, *only, strings.Split(*ops, ",")); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sample is one timed run.
type sample struct {
	op, path, size string
	msgs           int
	elapsed, cpu   time.Duration
	mallocs, bytes uint64
}

func (s sample) name() string  { return s.op + "/" + s.path + "/" + s.size }
func (s sample) rate() float64 { return float64(s.msgs) / s.elapsed.Seconds() }
func (s sample) cpuPerMsg() float64 {
	return float64(s.cpu.Nanoseconds()) / float64(s.msgs)
}
func (s sample) allocsPerMsg() float64 { return float64(s.mallocs) / float64(s.msgs) }
func (s sample) bytesPerMsg() float64  { return float64(s.bytes) / float64(s.msgs) }

func run(rounds, n, wave int, only string, ops []string) error {
	ctx := context.Background()
	ks := kinds()
	e, err := newEnv(ctx, ks)
	if err != nil {
		return err
	}
	defer e.close()
	wm, err := newWatermillPath(e)
	if err != nil {
		return err
	}
	paths := map[string]path{
		"platform": platformPath{e}, "batch": batchPath{e}, "watermill": wm,
		"sdk": newSDKPath(e), "wire": wirePath{e}, "raw": rawPath{e},
	}
	order := []string{"platform", "watermill", "sdk", "wire", "raw", "batch"}
	if only != "" {
		order = strings.Split(only, ",")
		for _, name := range order {
			if paths[name] == nil {
				return fmt.Errorf("unknown path %q", name)
			}
		}
	}
	byName := map[string]kind{}
	for _, k := range ks {
		byName[k.path+"/"+k.size] = k
	}

	printMachine(rounds, n, wave)
	var samples []sample
	for r := range rounds {
		fmt.Printf("# round %d/%d load %s\n", r+1, rounds, loadavg())
		// Rotate so that no path always runs first or last.
		rot := append(append([]string(nil), order[r%len(order):]...), order[:r%len(order)]...)
		for _, size := range []string{"256B", "4KiB"} {
			for _, op := range ops {
				for _, name := range rot {
					if op == "Consume" && name == "batch" {
						continue
					}
					k := byName[name+"/"+size]
					msgs := n
					if name == "batch" {
						msgs = wave
					}
					s, err := measureOne(ctx, e, paths[name], op, k, msgs)
					if err != nil {
						return fmt.Errorf("%s/%s/%s: %w", op, name, size, err)
					}
					samples = append(samples, s)
					fmt.Printf("%-28s %8d msgs %12.0f msgs/s %10.0f cpu-ns/msg %8.1f allocs/msg %9.0f B/msg\n",
						s.name(), s.msgs, s.rate(), s.cpuPerMsg(), s.allocsPerMsg(), s.bytesPerMsg())
				}
			}
		}
	}
	fmt.Printf("# done load %s\n\n", loadavg())
	summarise(os.Stdout, samples, rounds)
	return nil
}

// measureOne prepares the stream (purged; filled for consume), then times
// one run and checks its outcome: every message stored (publish) or
// acknowledged (consume).
func measureOne(ctx context.Context, e *env, p path, op string, k kind, n int) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	stream := k.spec.Stream()
	if err := e.purge(ctx, stream); err != nil {
		return sample{}, err
	}
	s := sample{op: op, path: k.path, size: k.size, msgs: n}
	switch op {
	case "Publish":
		runFn, err := p.publish(k, n)
		if err != nil {
			return s, err
		}
		if err := timed(&s, func() error { return runFn(ctx) }); err != nil {
			return s, err
		}
		if got, err := e.stored(ctx, stream); err != nil || got != uint64(n) {
			return s, fmt.Errorf("stream holds %d messages (%v), want %d", got, err, n)
		}
	case "Consume":
		if err := p.fill(ctx, k, n); err != nil {
			return s, fmt.Errorf("fill: %w", err)
		}
		if got, err := e.stored(ctx, stream); err != nil || got != uint64(n) {
			return s, fmt.Errorf("filled stream holds %d messages (%v), want %d", got, err, n)
		}
		durable := "bench-" + k.path
		end := noEnd
		err := timed(&s, func() error {
			var err error
			end, err = p.consume(ctx, k, durable, n)
			return err
		})
		if err == nil {
			err = e.waitAcked(ctx, stream, durable)
		}
		end()
		_ = e.js.DeleteConsumer(ctx, stream, durable) // the SDK may have deleted it already
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// profileDir, when set, receives a CPU profile of every timed run.
var profileDir string

// timed runs f and records its wall time, the process's CPU time and
// allocations. The server runs in this process: its share is included.
func timed(s *sample, f func() error) error {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if profileDir != "" {
		f, err := os.Create(fmt.Sprintf("%s/%s-%s-%s.prof", profileDir, s.op, s.path, s.size))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
		}
	}
	c0 := cpuTime()
	t0 := time.Now()
	err := f()
	s.elapsed = time.Since(t0)
	s.cpu = cpuTime() - c0
	runtime.ReadMemStats(&m1)
	s.mallocs, s.bytes = m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	return err
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
