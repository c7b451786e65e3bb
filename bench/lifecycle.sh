#!/usr/bin/env bash
# Load benchmarks of the Coexistence lifecycle endpoints (issue 4), with wrk.
#
#   bench/lifecycle.sh [sqlite|postgres]...     (default: sqlite)
#
# sqlite:   one release daemon on a fresh SQLite file; registers NUMBERS
#           numbers (default 100000) over HTTP, then measures
#           GET /v1/numbers/{number} (latency percentiles) and
#           POST /v1/numbers/{number}/admit (decisions per second).
# postgres: two daemons (the ledger writer and a --replica) on one fresh
#           PostgreSQL schema (PG_URL, default postgres://postgres@127.0.0.1:5432/test);
#           wrk drives admit on both at once; the budget is one shared row per number.
# DURATION (default 30s), CONNS (default 64) and NUMBERS change the runs;
# GET_CONNS and ADMIT_CONNS (default: CONNS) list the connection counts of
# the GET and admit runs on SQLite, ADMIT_THREADS (default 2) wrk's threads; BIN
# picks a binary (default: build and use target/release/coexist).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
CONNS=${CONNS:-64}
NUMBERS=${NUMBERS:-100000}
GET_CONNS=${GET_CONNS:-$CONNS}
ADMIT_CONNS=${ADMIT_CONNS:-$CONNS}
ADMIT_THREADS=${ADMIT_THREADS:-2}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
A=127.0.0.1:18081
B=127.0.0.1:18082

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# BIN=target/debug/coexist measures an existing dev build instead of building release.
if [ -z "${BIN:-}" ]; then
  cargo build --release -p coexist >&2
  BIN=$PWD/target/release/coexist
fi
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

start() { # start ADDR DATABASE_URL [extra args...]
  local addr=$1 url=$2; shift 2
  COEXIST_LOG=warn "$BIN" serve --listen "$addr" --database-url "$url" "$@" 2> "$WORK/daemon-$addr.log" &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    curl -fs "http://$addr/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$WORK/daemon-$addr.log" >&2
  exit 1
}

register() { # register ADDR COUNT
  echo "== registering $2 numbers over HTTP (PUT /v1/numbers/{number}, 4 connections)"
  python3 bench/register.py "$1" "$2" 4
  curl -fs "http://$1/v1/numbers/%2B62$((2100000000 + $2 - 1))" | head -c 300; echo
}

scenario_sqlite() {
  start $A "sqlite://$WORK/ledger.db"
  register $A "$NUMBERS"
  for c in $GET_CONNS; do
    echo "== GET /v1/numbers/{number}, random among $NUMBERS, SQLite ($c connections)"
    wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"$DURATION" --latency -s bench/numbers_get.lua "http://$A" -- "$NUMBERS"
  done
  for c in $ADMIT_CONNS; do
    echo "== POST /v1/numbers/{number}/admit, 1,000 numbers, in-memory GCRA ($c connections, $ADMIT_THREADS wrk threads)"
    wrk -t"$ADMIT_THREADS" -c"$c" -d"$DURATION" --latency -s bench/admit.lua "http://$A" -- 1000
  done
  echo "RSS $(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' /proc/${PIDS[0]}/status) MB"
}

scenario_postgres() {
  local schema="coexist_bench_$$"
  psql "$PG_URL" -qc "CREATE SCHEMA $schema" >/dev/null
  local url="$PG_URL?options=-c%20search_path%3D$schema"
  start $A "$url"
  start $B "$url" --replica
  register $A 1000
  echo "== POST /v1/numbers/{number}/admit on two replicas at once, shared PostgreSQL budget ($CONNS connections each)"
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/admit.lua "http://$A" -- 1000 > "$WORK/a.txt" &
  local w=$!
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s bench/admit.lua "http://$B" -- 1000 > "$WORK/b.txt"
  wait $w
  echo "-- writer"; cat "$WORK/a.txt"; echo "-- replica"; cat "$WORK/b.txt"
  awk '/Requests\/sec/ { s += $2 } END { printf "=> %.0f decisions/s over both replicas\n", s }' "$WORK/a.txt" "$WORK/b.txt"
  psql "$PG_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
}

for s in "${@:-sqlite}"; do
  for one in $s; do "scenario_$one"; done
done
