#!/usr/bin/env bash
# Event-bus benchmark (bench/bus): the platform bus, Watermill, the
# CloudEvents Go SDK, the plain client with the bus's headers (wire) and
# the payload alone (raw), publish and consume at 256 B and 4 KiB, in one
# run whose rounds interleave every path. It prints the machine and the
# command first, one line per timed run, then the medians and the ratios
# platform ÷ each as Markdown tables.
#
#   scripts/bench.sh                        5 rounds of 20,000 messages, waves of 50,000
#   scripts/bench.sh -rounds=3 -n=10000     any flag of the program (go run . -h)
#   OUT=bench.txt scripts/bench.sh          keep the output in a file too
#
# The benchmark module is not in go.work (its peers' dependencies stay out
# of the platform's modules), so it runs with GOWORK=off.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/bench/bus"
if [ -n "${OUT:-}" ]; then
	GOWORK=off go run . "$@" | tee "$OUT"
else
	GOWORK=off go run . "$@"
fi
