#!/usr/bin/env bash
# Idle resident memory of `deiops serve --target=all` without embedded
# servers. A `deiops dev` on an empty data directory provides NATS, Temporal
# and Redis; a second process, `deiops serve --target=all`, is pointed at them
# through DEIOPS_* variables, waited for until /readyz answers 200, left idle,
# and then its VmRSS is read from /proc/<pid>/status. Both processes are
# stopped afterwards. Prints VmRSS in MiB on stdout, details on stderr.
#
#   (cd cmd/deiops && go build -o /tmp/deiops .)
#   scripts/measure-idle-rss.sh [binary [serve-binary]]
#
# binary (default /tmp/deiops) runs `deiops dev`; serve-binary (default: the
# same) runs `deiops serve`, e.g. a production build made with -tags nodev.
#
# IDLE (seconds, default 30) is the idle time; DEADLINE (seconds, default 90)
# bounds each start-up. GOGC, GOMEMLIMIT and other Go variables in the
# environment reach the serve process unchanged.
set -euo pipefail

bin=${1:-/tmp/deiops}
servebin=${2:-$bin}
idle=${IDLE:-30}
deadline=${DEADLINE:-90}
for b in "$bin" "$servebin"; do
	[ -x "$b" ] || { echo "no executable at $b (build it first)" >&2; exit 2; }
done
[ -r /proc/self/status ] || { echo "needs /proc (Linux)" >&2; exit 2; }

data=$(mktemp -d -t deiops-idle-rss.XXXXXX)
devlog="$data.dev.log"
servelog="$data.serve.log"
devpid=""
servepid=""

stop() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop "$servepid"
	stop "$devpid"
	rm -rf "$data" "$devlog" "$servelog"
}
trap cleanup EXIT

# wait_ready PID LOG ADDR-COMMAND: polls until the address printed in LOG
# answers /readyz with 200; echoes the address.
wait_ready() {
	local pid=$1 log=$2 find=$3 addr="" t0
	t0=$(date +%s)
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "process $pid exited before it was ready:" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
		if [ $(($(date +%s) - t0)) -gt "$deadline" ]; then
			echo "process $pid: no 200 from /readyz within ${deadline}s (address: ${addr:-not logged yet}):" >&2
			tail -n 20 "$log" >&2
			return 1
		fi
		[ -n "$addr" ] || addr=$($find "$log")
		if [ -n "$addr" ] && [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$addr/readyz" || true)" = 200 ]; then
			echo "$addr"
			return 0
		fi
		sleep 0.1
	done
}
dev_addr() { sed -n 's|^ *API *http://\([^ ]*\).*|\1|p' "$1" | head -n 1; }
serve_addr() { sed -n 's|.*"msg":"deiops serving".*"addr":"\([^"]*\)".*|\1|p' "$1" | head -n 1; }
field() { sed -n "s|^ *$1 *\([^ ]*\).*|\1|p" "$devlog" | head -n 1; }
secret() { sed -n "s|.*\"$1\": *\"\([^\"]*\)\".*|\1|p" "$data/secrets.json" | head -n 1; }

: >"$devlog"
: >"$servelog"
"$bin" dev --data="$data" >"$devlog" 2>&1 &
devpid=$!
devaddr=$(wait_ready "$devpid" "$devlog" dev_addr)
nats_url=$(field NATS)
temporal=$(field Temporal)
redis_url=$(field Redis)
echo "dev (pid $devpid) ready at $devaddr: NATS $nats_url, Temporal $temporal, Redis $redis_url" >&2

DEIOPS_NATS_URL=$nats_url \
	DEIOPS_TEMPORAL_ADDRESS=$temporal \
	DEIOPS_REDIS_URL=$redis_url \
	DEIOPS_AUTH_DEV=true \
	DEIOPS_AUTH_DEV_KEY_FILE=$data/dev-issuer.pem \
	DEIOPS_CRYPTO_KEYRING=$(secret keyring) \
	DEIOPS_PRIVACY_HMAC_SECRET=$(secret hmac_secret) \
	DEIOPS_HTTP_ADDR=127.0.0.1:0 \
	"$servebin" serve --target=all >"$servelog" 2>&1 &
servepid=$!
serveaddr=$(wait_ready "$servepid" "$servelog" serve_addr)
echo "serve (pid $servepid, $servebin, $(du -m "$servebin" | cut -f1) MiB) ready at $serveaddr; idle for ${idle}s" >&2
sleep "$idle"
kill -0 "$servepid" 2>/dev/null || { echo "serve exited while idle:" >&2; tail -n 20 "$servelog" >&2; exit 1; }

grep -E '^(VmRSS|VmHWM|RssAnon|RssFile|Threads):' "/proc/$servepid/status" | tr -s ' \t' ' ' >&2
grep -E '^(Pss|Pss_Anon|Pss_File|Shared_Clean|Private_Clean|Private_Dirty):' "/proc/$servepid/smaps_rollup" 2>/dev/null | tr -s ' \t' ' ' | sed 's/^/smaps_rollup /' >&2 || true
echo "GOGC=${GOGC:-unset} GOMEMLIMIT=${GOMEMLIMIT:-unset}" >&2
curl -s -m 5 "http://$serveaddr/metrics" |
	grep -E '^go_(goroutines|memstats_(heap_(alloc|inuse|idle|released|sys)|stack_sys|sys|next_gc)_bytes|gc_gomemlimit_bytes|gc_gogc_percent) ' >&2 || true
awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$servepid/status"
