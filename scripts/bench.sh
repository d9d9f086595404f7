#!/usr/bin/env bash
# Event-bus benchmarks (pkg/bus/bench_test.go): runs them and prints the
# medians and the platform/raw ratios as Markdown tables.
#
#   scripts/bench.sh               go test -run='^$' -bench='Publish|Consume'
#                                  -benchtime=20000x -count=5 ./bus/
#   ROUNDS=5 scripts/bench.sh      the same benchmarks in 5 separate runs of
#                                  -count=1: platform, wire and raw of one size
#                                  then run seconds apart instead of after each
#                                  other's five repetitions (steadier when other
#                                  work shares the machine)
#   scripts/bench.sh saved.txt     only summarise output saved earlier
#
# BENCHTIME (default 20000x) and COUNT (default 5) override the run; OUT names
# the file that keeps the raw output (default: a temporary file).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
benchtime=${BENCHTIME:-20000x}

summarise() {
	awk '
	function median(key,    n, i, j, v, a) {
		n = cnt[key]
		for (i = 1; i <= n; i++) a[i] = vals[key, i]
		for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
		if (n == 0) return ""
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	/^Benchmark(Publish|Consume)\// {
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
		if (!(name in runs)) { order[++names] = name }
		r = ++runs[name]
		for (i = 3; i < NF; i += 2) {
			key = name SUBSEP $(i + 1)
			vals[key, ++cnt[key]] = $i
			round[name, $(i + 1), r] = $i
		}
	}
	END {
		if (names == 0) { print "no benchmark results found" > "/dev/stderr"; exit 1 }
		print "| benchmark | runs | msgs/s | ns/op | cpu-ns/msg | B/op | allocs/op |"
		print "|---|---:|---:|---:|---:|---:|---:|"
		for (k = 1; k <= names; k++) {
			n = order[k]
			printf "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |\n", n, runs[n],
				median(n SUBSEP "msgs/s"), median(n SUBSEP "ns/op"), median(n SUBSEP "cpu-ns/msg"),
				median(n SUBSEP "B/op"), median(n SUBSEP "allocs/op")
		}
		print ""
		print "| ratio (median msgs/s ÷ median raw msgs/s) | platform | wire | per-run platform ÷ raw (min–max) | raw cpu-ns ÷ platform cpu-ns |"
		print "|---|---:|---:|---:|---:|"
		split("Publish Consume", ops, " ")
		split("256B 4KiB", sizes, " ")
		for (o = 1; o <= 2; o++) for (s = 1; s <= 2; s++) {
			p = ops[o] "/platform/" sizes[s]; w = ops[o] "/wire/" sizes[s]; r = ops[o] "/raw/" sizes[s]
			raw = median(r SUBSEP "msgs/s")
			if (raw == "" || median(p SUBSEP "msgs/s") == "") continue
			wr = median(w SUBSEP "msgs/s")
			lo = ""; hi = ""
			for (i = 1; i <= runs[p] && i <= runs[r]; i++) {
				q = round[p, "msgs/s", i] / round[r, "msgs/s", i]
				if (lo == "" || q < lo) lo = q
				if (hi == "" || q > hi) hi = q
			}
			printf "| %s %s | %.2f | %s | %.2f–%.2f | %.2f |\n", ops[o], sizes[s],
				median(p SUBSEP "msgs/s") / raw, (wr == "" ? "–" : sprintf("%.2f", wr / raw)), lo, hi,
				median(r SUBSEP "cpu-ns/msg") / median(p SUBSEP "cpu-ns/msg")
		}
	}' "$1"
}

if [ $# -gt 0 ]; then
	summarise "$1"
	exit 0
fi

out=${OUT:-$(mktemp -t deiops-bench.XXXXXX)}
: >"$out"
cd "$root/pkg"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(go version) nproc=$(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)" | tee -a "$out"
if [ -n "${ROUNDS:-}" ]; then
	bin=$(mktemp -t deiops-bus-bench.XXXXXX)
	trap 'rm -f "$bin"' EXIT
	go test -c -o "$bin" ./bus/
	for i in $(seq "$ROUNDS"); do
		echo "# round $i/$ROUNDS load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)" | tee -a "$out"
		(cd bus && "$bin" -test.run='^$' -test.bench='Publish|Consume' -test.benchtime="$benchtime" -test.count=1 -test.benchmem) | tee -a "$out"
	done
else
	go test -run='^$' -bench='Publish|Consume' -benchtime="$benchtime" -count="${COUNT:-5}" ./bus/ | tee -a "$out"
fi
echo "# raw output: $out"
echo
summarise "$out"
