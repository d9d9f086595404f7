#!/usr/bin/env bash
# Cold start of `deiops dev`: seconds from launching an already built binary
# on an empty data directory until the printed API address answers /readyz
# with 200. Prints the seconds on stdout; the process is stopped afterwards.
#
#   (cd cmd/deiops && go build -o /tmp/deiops .)
#   scripts/measure-dev-start.sh [binary]      default /tmp/deiops
#
# DEADLINE (seconds, default 60) bounds the wait; the script fails after it.
set -euo pipefail

bin=${1:-/tmp/deiops}
deadline=${DEADLINE:-60}
[ -x "$bin" ] || { echo "no executable at $bin (build it first)" >&2; exit 2; }

data=$(mktemp -d -t deiops-dev-start.XXXXXX)
log="$data.log"
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$data" "$log"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

start=$(now)
"$bin" dev --data="$data" >"$log" 2>&1 &
pid=$!

addr=""
while :; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "deiops dev exited before /readyz answered 200:" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	if awk -v e="$(since "$start")" -v d="$deadline" 'BEGIN { exit !(e > d) }'; then
		echo "no 200 from /readyz within ${deadline}s (API address: ${addr:-not printed yet}):" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	if [ -z "$addr" ]; then
		addr=$(sed -n 's|^ *API *http://\([^ ]*\).*|\1|p' "$log" | head -n 1)
	fi
	if [ -n "$addr" ] && [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://$addr/readyz" || true)" = 200 ]; then
		break
	fi
	sleep 0.05
done
elapsed=$(since "$start")
infra=$(sed -n 's/.*infrastructure up in \([^)]*\)).*/\1/p' "$log" | head -n 1)
echo "deiops dev: /readyz 200 at http://$addr after ${elapsed}s (embedded infrastructure up in ${infra:-?})" >&2
echo "$elapsed"
