#!/usr/bin/env bash
# Plugin platform benchmarks (issue 5), on the release binary.
#
#   [PROFILE=debug] bench/plugins.sh [overhead|startup|reload|sandbox]...   (default: all)
#
# overhead  `coexist plugin bench` on each bundled plugin: a fresh instance,
#           and the per-message cost at batch sizes 1, 64 and 1,024.
# startup   time from spawning `coexist serve` to a 200 from /readyz, with a
#           warm compile cache (median of RUNS, default 10).
# reload    `POST /v1/plugins/reload` of the bundled set with new settings
#           (so it is really swapped), as the daemon reports it (took_ms).
# sandbox   p99 of ordinary single-event requests (wrk, 8 WABAs in timestamp
#           order, bench/rate_single.lua) with the bundled set,
#           then with each failure fixture added and hit by one triggering
#           request every 50 ms: the "within 2x of normal" check.
set -euo pipefail
cd "$(dirname "$0")/.."
ADDR=127.0.0.1:18081
RUNS=${RUNS:-10}
DURATION=${DURATION:-10s}
# PROFILE=debug measures the dev-profile binary (dependencies at opt-level 2,
# our crates at 1) when there is no time for a release build.
PROFILE=${PROFILE:-release}
# (debug uses what `cargo build --workspace --all-targets` built, without rebuilding).
if [ "$PROFILE" = release ]; then cargo build --release -p coexist >&2; fi
BIN=$PWD/target/$PROFILE/coexist
WORK=$(mktemp -d)
export COEXIST_CACHE_DIR="$WORK/cache"
PID=
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

now_ms() { date +%s%3N; }

start_daemon() { # [extra args...]; KEEP_DB=1 restarts on the existing ledger
  [ "${KEEP_DB:-0}" = 1 ] || rm -f "$WORK"/ledger.db*
  COEXIST_LOG=warn,coexist::serve=info "$BIN" serve --listen "$ADDR" --database-url "sqlite://$WORK/ledger.db" \
    --config "${CONFIG:-tests/fixtures/w1.toml}" "$@" 2> "$WORK/daemon.log" &
  PID=$!
  for _ in $(seq 1 2000); do
    curl -fs "http://$ADDR/readyz" >/dev/null 2>&1 && return 0
    sleep 0.005
  done
  cat "$WORK/daemon.log" >&2
  exit 1
}

stop_daemon() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
}

scenario_overhead() {
  for plugin in classifier coexistence; do
    echo "== coexist plugin bench bundled:$plugin"
    "$BIN" plugin bench "bundled:$plugin" --iterations 2000
    echo
  done
}

scenario_startup() {
  start_daemon && stop_daemon # warms the compile cache
  local fresh
  for fresh in 0 1; do
    if [ "$fresh" = 1 ]; then
      echo "== start to ready, warm compile cache, a new ledger file each run (median of $RUNS)"
    else
      echo "== start to ready, warm compile cache, restarting on the existing ledger (median of $RUNS)"
    fi
    local times=()
    for _ in $(seq 1 "$RUNS"); do
      local t0; t0=$(now_ms)
      KEEP_DB=$((1 - fresh)) start_daemon
      times+=($(( $(now_ms) - t0 )))
      stop_daemon
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "=> median %d ms, max %d ms (%d runs)\n", a[int((NR + 1) / 2)], a[NR], NR }'
    grep -o 'took_ms=.*' "$WORK/daemon.log" | sed 's/^/   the last run'"'"'s own log: /' || true
  done
}

pipeline() { # us_marketing_block_from
  cat <<TOML
[[plugin]]
module = "bundled:classifier"
[plugin.settings]
us_marketing_block_from = "$1"

[[plugin]]
module = "bundled:coexistence"
TOML
}

scenario_reload() {
  echo "== POST /v1/plugins/reload of the bundled set ($RUNS reloads, each with new settings)"
  mkdir -p "$WORK/policies"
  pipeline 2025-04-01 > "$WORK/policies/pipeline.toml"
  start_daemon --policies "$WORK/policies"
  for i in $(seq 1 "$RUNS"); do
    pipeline "2025-04-$(printf '%02d' $((i + 1)))" > "$WORK/policies/pipeline.toml.tmp"
    mv "$WORK/policies/pipeline.toml.tmp" "$WORK/policies/pipeline.toml"
    local t0; t0=$(now_ms)
    curl -fs -X POST "http://$ADDR/v1/plugins/reload" > "$WORK/reload.json"
    echo "reload $i: $(( $(now_ms) - t0 )) ms over HTTP; daemon: $(grep -o '"took_ms":[0-9]*' "$WORK/reload.json" | head -1), $(grep -o '"outcome":"[a-z]*"' "$WORK/reload.json")"
    sleep 0.5 # lets the file watcher's own reload (same files) finish first
  done
  stop_daemon
}

scenario_sandbox() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  mkdir -p "$WORK/policies"
  if [ "$PROFILE" = release ]; then
    cargo build -q --release -p coexist-engine --features fixtures --example write_fixtures
  fi
  "target/$PROFILE/examples/write_fixtures" "$WORK/policies" >/dev/null
  # Eight WABAs for the ordinary load (one wrk thread and connection each,
  # in timestamp order, as a CRM sends), a ninth for the triggering requests.
  "$BIN" generate --profiles --wabas 9 > "$WORK/wabas.toml"
  for fixture in none spin memory-hog trap wrong-count; do
    {
      echo '[[plugin]]'; echo 'module = "bundled:classifier"'; echo
      echo '[[plugin]]'; echo 'module = "bundled:coexistence"'
      if [ "$fixture" != none ]; then
        printf '\n[[plugin]]\nmodule = "%s.wasm"\ntimeout_ms = 20\nmemory_mib = 16\n[plugin.settings]\ntrigger = "+15550009999"\n' "$fixture"
      fi
    } > "$WORK/policies/pipeline.toml"
    CONFIG="$WORK/wabas.toml" start_daemon --policies "$WORK/policies"
    local n=0
    ( while kill -0 "$PID" 2>/dev/null; do
        n=$((n + 1))
        curl -s -o /dev/null -H 'content-type: application/json' -X POST "http://$ADDR/v1/rate" \
          -d "{\"id\":\"trigger-$n-$RANDOM\",\"waba\":\"SW8\",\"business_number\":\"+62215550008\",\"user\":\"+15550009999\",\"direction\":\"outbound\",\"side\":\"api\",\"type\":\"template\",\"template_category\":\"marketing\",\"timestamp\":$((1772323200 + n))}" || true
        sleep 0.05
      done ) &
    local trig=$!
    echo "== fixture: $fixture (one triggering request every 50 ms beside the load)"
    wrk -t8 -c8 -d"$DURATION" --latency -s bench/rate_single.lua "http://$ADDR" | grep -E 'Latency|50%|99%|Requests/sec|Non-2xx'
    kill "$trig" 2>/dev/null || true
    curl -fs "http://$ADDR/v1/plugins" | grep -o '"errors":{[^}]*}' | tail -1 || true
    stop_daemon
  done
}

for s in ${@:-overhead startup reload sandbox}; do
  "scenario_$s"
done
