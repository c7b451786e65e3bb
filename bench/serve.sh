#!/usr/bin/env bash
# Load benchmarks of `coexist serve` on loopback, with wrk (Debian's package).
#
#   bench/serve.sh [batch|single|paced|dry|rss|unscraped]...   (default: batch single paced dry)
#
# Each scenario starts the release daemon on a fresh SQLite file with 64 WABA
# profiles, drives it with wrk and the Lua scripts beside this file, and
# prints wrk's report; `paced` drives it at a fixed rate instead, with
# daemon/examples/paced_load.rs. Set DURATION (default 30s, in seconds) and
# RSS_EVENTS (default 10000000) to change the runs, and COEXIST_BIN to run
# another build of the daemon (to compare two commits, alternating) instead
# of building this tree. BATCH_CONNECTIONS (default 4) sets the batch
# scenario's connections, one WABA each; PACED_RATE (default 10000) the
# paced scenario's requests per second, and PACED_LOAD a load generator
# already built (otherwise the scenario builds the example).
set -euo pipefail
cd "$(dirname "$0")/.."
export COEXIST_BENCH_DIR="$PWD/bench"
DURATION=${DURATION:-30s}
case $DURATION in *[0-9]s) ;; *) echo "DURATION must be in seconds, as 30s" >&2; exit 2 ;; esac
RSS_EVENTS=${RSS_EVENTS:-10000000}
ADDR=127.0.0.1:18080

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${COEXIST_BIN:-}" ]; then
  cargo build --release -p coexist >&2
fi
BIN=${COEXIST_BIN:-$PWD/target/release/coexist}
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" generate --profiles --wabas 64 > "$WORK/wabas.toml"

start_daemon() {
  rm -f "$WORK"/ledger.db*
  COEXIST_LOG=warn "$BIN" serve --listen "$ADDR" --database-url "sqlite://$WORK/ledger.db" \
    --config "$WORK/wabas.toml" 2> "$WORK/daemon.log" &
  PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://$ADDR/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$WORK/daemon.log" >&2
  exit 1
}

stop_daemon() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}

rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$PID/status"; }

rss_mb() { awk -v kb="$(rss_kb)" 'BEGIN { printf "%.0f", kb / 1024 }'; }

# The daemon's CPU time since it started (user + system, from /proc) per
# stored event (or per request, when the second argument says so): in all,
# and by thread name (the committer, the commit thread, the checkpointer,
# the HTTP runtime). Start-up is a few ms of it.
cpu_per_event() {
  local n=$1 what=${2:-stored event}
  [ "$n" -gt 0 ] || return 0
  cat /proc/"$PID"/task/*/stat 2>/dev/null | awk -v n="$n" -v what="$what" -v tck="$(getconf CLK_TCK)" '
    { name = $2; gsub(/[()]/, "", name); us = ($14 + $15) / tck * 1e6 / n; sum += us; by[name] += us }
    END {
      printf "CPU per %s: %.2f us", what, sum
      for (k in by) if (by[k] >= 0.05) printf "; %s %.2f", k, by[k]
      printf "\n"
    }'
}

# The database's bytes per stored event once the daemon has stopped: the
# file with the WAL and shared-memory index it leaves beside it (a few MB
# of WAL remain after a batch run; the same for every build compared).
db_bytes_per_event() {
  local n=$1 bytes
  [ "$n" -gt 0 ] || return 0
  bytes=$(cat "$WORK"/ledger.db* | wc -c)
  echo "database: $bytes bytes, $((bytes / n)) per stored event"
}

stored() { curl -fs "http://$ADDR/metrics" | awk '/^coexist_events_rated_total/ { n += $2 } END { printf "%d", n }'; }

reversals() { curl -fs "http://$ADDR/metrics" | awk '/^coexist_events_rated_total.*reversal/ { n += $2 } END { printf "%d", n }'; }

scenario_batch() {
  local c=${BATCH_CONNECTIONS:-4}
  echo "== POST /v1/rate, batches of 1,000 events, stored in SQLite ($c connections, $c WABAs)"
  start_daemon
  wrk -t"$c" -c"$c" -d"$DURATION" --timeout 10s -s bench/rate_batch.lua "http://$ADDR" | tee "$WORK/wrk.txt"
  awk '/Requests\/sec/ { printf "=> %.0f events/s\n", $2 * 1000 }' "$WORK/wrk.txt"
  local n
  n=$(stored)
  echo "entries written: $n; RSS $(rss_mb) MB"
  cpu_per_event "$n"
  stop_daemon
  db_bytes_per_event "$n"
}

scenario_single() {
  echo "== POST /v1/rate, one event per request, stored (64 connections, 64 WABAs, 1 wrk thread)"
  start_daemon
  # One wrk thread drives the 64 connections (64 threads took a third of
  # the two cores the daemon shares with wrk). It sends a WABA's next event
  # only once its last one is answered, so each WABA's events arrive in
  # order, as one thread per WABA would send them (bench/rate_stored.lua).
  wrk -t1 -c64 -d"$DURATION" --latency -s bench/rate_stored.lua "http://$ADDR" -- "$(date +%s)" 64 | tee "$WORK/wrk.txt"
  # In order, every request writes one charge (those still in flight when
  # wrk stops too); a message rated out of order would re-rate later ones,
  # with reversals.
  awk '/requests in/ { printf "requests answered: %d; ", $1 }' "$WORK/wrk.txt"
  echo "entries written: $(stored), of them reversals: $(reversals); RSS $(rss_mb) MB"
  cpu_per_event "$(stored)"
  stop_daemon
}

scenario_paced() {
  local rate=${PACED_RATE:-10000} load=${PACED_LOAD:-}
  if [ -z "$load" ]; then
    cargo build --release -p coexist --example paced_load >&2
    load=$PWD/target/release/examples/paced_load
  fi
  echo "== POST /v1/rate, one event per request, stored, offered at $rate requests/s (64 connections, 64 WABAs)"
  start_daemon
  # wrk above sends as fast as answers come, so its latencies are those of a
  # saturated daemon. Here requests are due at a fixed rate, and latency
  # counts from when each was due (see the example's doc comment).
  "$load" --url "http://$ADDR" --rate "$rate" --connections 64 --seconds "${DURATION%s}" | tee "$WORK/paced.txt"
  echo "entries written: $(stored), of them reversals: $(reversals); RSS $(rss_mb) MB"
  cpu_per_event "$(stored)"
  stop_daemon
}

scenario_dry() {
  echo "== POST /v1/rate?dry_run=true, one event per request (64 connections, 64 WABAs, 1 wrk thread)"
  start_daemon
  # One wrk thread drives the 64 connections, naming the 64 WABAs in turn:
  # 64 threads cost a quarter of the two cores the daemon shares with wrk.
  # Dry runs store nothing, so a WABA's requests may overlap.
  wrk -t1 -c64 -d"$DURATION" --latency -s bench/rate_single.lua "http://$ADDR" -- dry "$(date +%s)" 64 | tee "$WORK/wrk.txt"
  echo "entries written: $(stored) (a dry run stores nothing); RSS $(rss_mb) MB"
  cpu_per_event "$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")" request
  stop_daemon
}

scenario_rss() {
  echo "== resident memory while storing $RSS_EVENTS events (batches of 1,000, 4 connections)"
  start_daemon
  wrk -t4 -c4 -d3600s --timeout 10s -s bench/rate_batch.lua "http://$ADDR" > "$WORK/wrk.txt" &
  WRK=$!
  while :; do
    n=$(stored)
    echo "$(date +%T) entries=$n rss=$(rss_mb)MB"
    [ "$n" -ge "$RSS_EVENTS" ] && break
    sleep 10
  done
  kill "$WRK" 2>/dev/null || true
  wait "$WRK" 2>/dev/null || true
  sleep 2
  echo "after $(stored) entries: RSS $(rss_mb) MB; database $(du -sh "$WORK" | cut -f1)"
  stop_daemon
}

# Histogram samples wait in the metrics recorder until its upkeep (or a
# scrape) folds them in, so a daemon that nobody scrapes must run the upkeep
# itself or grow with every request. /healthz is the cheapest request, so
# it makes the most samples; nothing reads /metrics while wrk runs.
scenario_unscraped() {
  echo "== resident memory of a daemon nobody scrapes: GET /healthz for $DURATION (64 connections)"
  start_daemon
  wrk -t2 -c64 -d3s "http://$ADDR/healthz" >/dev/null
  sleep 6
  local before after n
  before=$(rss_kb)
  wrk -t2 -c64 -d"$DURATION" "http://$ADDR/healthz" | tee "$WORK/wrk.txt"
  sleep 6
  after=$(rss_kb)
  n=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
  [ "${n:-0}" -gt 0 ] || { echo "wrk completed no request" >&2; exit 1; }
  echo "RSS $((before / 1024)) MB before, $((after / 1024)) MB after $n requests: $(((after - before) * 1024 / n)) bytes per request"
  stop_daemon
}

for s in "${@:-batch single paced dry}"; do
  for one in $s; do "scenario_$one"; done
done
