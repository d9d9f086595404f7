#!/usr/bin/env bash
# `deiops dev` killed with SIGKILL while anonymous reports keep arriving:
# the stack must serve again within RESTART_DEADLINE seconds of each
# restart, every report that got a 201 must open with its key and secret,
# every Idempotency-Key must be exactly one case (no orphan of an
# interrupted attempt), and every case must have its escalation running.
#
#   (cd cmd/deiops && go build -o /tmp/deiops .)
#   scripts/dev-kill-test.sh [binary]          default /tmp/deiops
#
# KILLS (default 5), RATE (reports per second, default 10), RUN_SECONDS
# (load between kills, default 8) and RESTART_DEADLINE (default 10).
# The embedded Redis is in-process, so each kill also forgets every
# idempotency key: what holds, holds without it.
set -euo pipefail

bin=${1:-/tmp/deiops}
kills=${KILLS:-5}
rate=${RATE:-10}
run_seconds=${RUN_SECONDS:-8}
restart_deadline=${RESTART_DEADLINE:-10}
[ -x "$bin" ] || { echo "no executable at $bin (build it first)" >&2; exit 2; }

work=$(mktemp -d -t deiops-kill.XXXXXX)
data="$work/data"
log="$work/dev.log"
mkdir -p "$data" "$work/sent" "$work/got"
pid=""
load=""
stop_load() {
	[ -n "$load" ] || return 0
	pkill -P "$load" 2>/dev/null || true # the senders in flight
	kill "$load" 2>/dev/null || true
	load=""
}
cleanup() {
	stop_load
	pkill -f "^curl .*$work" 2>/dev/null || true
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
over() { awk -v e="$(since "$1")" -v d="$2" 'BEGIN { exit !(e > d) }'; }
fail() { echo "FAIL: $*" >&2; tail -n 30 "$log" >&2 || true; exit 1; }

# start launches the stack and waits until it files a report.
start() {
	[ -s "$log" ] && cat "$log" >>"$work/earlier.log"
	: >"$log"
	"$bin" dev --data="$data" >>"$log" 2>&1 &
	pid=$!
}
addr() { sed -n 's|^ *API *http://\([^ ]*\).*|\1|p' "$log" | head -n 1; }
wait_serving() {
	local began=$1 deadline=$2 a=""
	while :; do
		kill -0 "$pid" 2>/dev/null || fail "deiops dev exited"
		over "$began" "$deadline" && fail "not serving ${deadline}s after the start (API ${a:-not printed})"
		[ -z "$a" ] && a=$(addr)
		if [ -n "$a" ] && [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$a/readyz" || true)" = 200 ]; then
			echo "$a" >"$work/addr"
			return
		fi
		sleep 0.1
	done
}

# report sends one anonymous report under key $1 until it is answered
# 201 (or 422: never expected), retrying with the same key and body.
report() {
	local key=$1 body="$work/sent/$1.json" out="$work/got/$1.json" code a
	jq -n --arg k "$key" --arg at "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
		'{category:"racism", narrative:("kill test " + $k), occurred_at:$at, department:"med", site:"north",
		  desired_outcome:"formal_resolution", anonymous:true}' >"$body"
	for _ in $(seq 600); do
		a=$(cat "$work/addr" 2>/dev/null || true)
		code=$(curl -s -o "$out.tmp" -m 15 -w '%{http_code}' -H 'Content-Type: application/json' \
			-H "Idempotency-Key: $key" --data-binary @"$body" "http://$a/v1/reports" || true)
		case "$code" in
		201) mv "$out.tmp" "$out"; return ;;
		422|400) mv "$out.tmp" "$work/got/$key.bad"; return ;;
		esac
		sleep 0.5
	done
	echo "gave up" >"$work/got/$key.bad"
}

loadgen() {
	local n=0
	while :; do
		n=$((n + 1))
		report "k$n" &
		sleep "$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')"
	done
}

began=$(now)
start
wait_serving "$began" 120
echo "serving at $(cat "$work/addr") after $(since "$began")s" >&2
loadgen &
load=$!

restarts=()
for i in $(seq "$kills"); do
	sleep "$run_seconds"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	began=$(now)
	start
	wait_serving "$began" "$restart_deadline"
	restarts+=("$(since "$began")")
	echo "kill $i: serving again after ${restarts[-1]}s" >&2
done
sleep "$run_seconds"
# No new reports; every sender in flight finishes (a 201, or gives up,
# which fails below).
kill "$load"; wait "$load" 2>/dev/null || true
load=""
for _ in $(seq 600); do
	[ "$(ls "$work/sent" | wc -l)" -le "$(ls "$work/got" | grep -c '\.json$\|\.bad$' || true)" ] && break
	sleep 0.5
done

a=$(cat "$work/addr")
sent=$(ls "$work/sent" | wc -l)
bad=$(ls "$work/got" | grep -c '\.bad$' || true)
[ "$bad" -eq 0 ] || fail "$bad of $sent reports got no 201: $(ls "$work/got" | grep '\.bad$' | head -5)"

# api OUT CURL-ARGS... prints the status of one API call, its body in OUT.
# The load came from one address at the API's per-client rate limit, so a
# 429 (or a 503) is waited out as its Retry-After says, then sent again.
api() {
	local out=$1 code wait
	shift
	for _ in $(seq 60); do
		code=$(curl -s -o "$out" -D "$out.h" -m 30 -w '%{http_code}' "$@" || true)
		case "$code" in
		429|503)
			wait=$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$out.h" | head -n 1)
			sleep "${wait:-1}" ;;
		*) break ;;
		esac
	done
	echo "$code"
}

# Each key again: the same receipt (one case per key), and the receipt opens its case.
for f in "$work"/got/*.json; do
	key=$(basename "$f" .json)
	code=$(api "$work/again" -H 'Content-Type: application/json' -H "Idempotency-Key: $key" \
		--data-binary @"$work/sent/$key.json" "http://$a/v1/reports")
	[ "$code" = 201 ] || fail "key $key: the retry answered $code: $(head -c 300 "$work/again")"
	[ "$(jq -r .case_id "$work/again")" = "$(jq -r .case_id "$f")" ] || fail "key $key: the retry answered another case"
	code=$(api "$work/opened" -H "Deiops-Case-Key: $(jq -r .case_key "$f")" \
		-H "Deiops-Case-Secret: $(jq -r .secret "$f")" "http://$a/v1/anonymous/case")
	[ "$code" = 200 ] || fail "key $key: its receipt does not open its case ($code)"
done

# No orphans: the cases are exactly the receipts; every one escalates.
token=$("$bin" token --sub off1 --role dei_officer --data="$data")
cases=$(after=""; while :; do
	code=$(api "$work/page" -H "Authorization: Bearer $token" "http://$a/v1/cases?limit=200&after=$after")
	[ "$code" = 200 ] || { echo "listing cases: $code" >&2; exit 1; }
	jq -r '.cases[].id' "$work/page"
	after=$(jq -r '.next // empty' "$work/page")
	[ -n "$after" ] || break
done | sort) || fail "the case list could not be read"
receipts=$(jq -r .case_id "$work"/got/*.json | sort)
[ "$cases" = "$receipts" ] || fail "cases and receipts differ: $(diff <(echo "$cases") <(echo "$receipts") | head -10)"
for id in $cases; do
	ok=""
	for _ in $(seq 120); do
		code=$(api "$work/esc" -H "Authorization: Bearer $token" "http://$a/v1/cases/$id/escalation")
		state=$(jq -r '.state.status // .state // empty' "$work/esc" 2>/dev/null || true)
		if [ "$code" = 200 ] && [ -n "$state" ] && [ "$state" != "null" ]; then ok=1; break; fi
		sleep 0.5
	done
	[ -n "$ok" ] || fail "case $id has no escalation"
done
temporal=$(cat "$work/earlier.log" "$log" | sed -n 's/.*Temporal ready (started in \(.*\)).*/\1/p' | tr '\n' ' ')
echo "PASS: $sent reports, $(wc -l <<<"$cases") cases, $kills kills, restarts serving after: ${restarts[*]} s; the embedded Temporal ready after: $temporal"
