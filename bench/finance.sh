#!/usr/bin/env bash
# Issue 6's read targets: the invoice view for a month of ENTRIES ledger
# entries, and a forecast over the same ledger (baseline from it).
#
#   bench/finance.sh                  (ENTRIES=10000000, RUNS=5, PROFILE=release)
#
# It starts the daemon once on a fresh SQLite file (migrations), fills the
# `ledger` table with ENTRIES entries of WABA W1 in March 2026 (UTC) straight
# from SQL (5 markets, 4 categories; the shape the committer writes), then
# restarts the daemon, which builds its daily usage summary from that ledger
# (timed), and times RUNS calls of each endpoint with curl, and the
# `coexist forecast` command. PROFILE=debug uses target/debug as built by
# `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${ENTRIES:-10000000}
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-release}
ADDR=127.0.0.1:18081
# PROFILE=debug uses the binary `cargo test --workspace` built (no rebuild).
if [ "$PROFILE" = release ]; then cargo build --release -p coexist >&2; fi
BIN=$PWD/target/$PROFILE/coexist
WORK=$(mktemp -d)
DB=$WORK/ledger.db
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_daemon() {
  COEXIST_LOG=info "$BIN" serve --listen "$ADDR" --database-url "sqlite://$DB" \
    --config tests/fixtures/w1.toml 2> "$WORK/daemon.log" &
  PID=$!
  for _ in $(seq 1 3000); do
    curl -fs "http://$ADDR/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$WORK/daemon.log" >&2
  exit 1
}
stop_daemon() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

start_daemon
stop_daemon
echo "filling the ledger with $ENTRIES entries (March 2026, UTC)" >&2
t0=$(date +%s.%N)
sqlite3 "$DB" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ENTRIES)
INSERT INTO ledger (waba, seq, id, kind, reverses, cause, at_ms, recorded_ms, business_number, billable,
  category, pricing_type, market, country, currency, amount, regime, rate_card, tier, plugin_set, meta_pricing)
SELECT 'W1', i, 'm' || i, 'charge', NULL, 'rated',
  1772323200000 + (i * (2678400000 / $ENTRIES)), 0, '+6221555000', 1,
  CASE i % 4 WHEN 0 THEN 'marketing' WHEN 1 THEN 'utility' WHEN 2 THEN 'service' ELSE 'authentication' END,
  CASE i % 4 WHEN 2 THEN 'free_customer_service' ELSE 'regular' END,
  CASE i % 5 WHEN 0 THEN 'India' WHEN 1 THEN 'Indonesia' WHEN 2 THEN 'Brazil' WHEN 3 THEN 'Mexico' ELSE 'Germany' END,
  CASE i % 5 WHEN 0 THEN 'IN' WHEN 1 THEN 'ID' WHEN 2 THEN 'BR' WHEN 3 THEN 'MX' ELSE 'DE' END,
  'USD', CASE i % 4 WHEN 2 THEN '0' WHEN 0 THEN '0.0411' ELSE '0.0068' END,
  'pmp', 'usd-2026-01-01', CASE i % 4 WHEN 0 THEN '0:MAX' ELSE NULL END, 'bench', NULL
FROM n;
SQL
echo "filled in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2

t0=$(date +%s.%N)
start_daemon
echo "daemon ready, daily summary built from the ledger, in $(echo "$(date +%s.%N) - $t0" | bc) s:" >&2
grep -o 'built the daily usage summary[^"]*' "$WORK/daemon.log" >&2 || true

time_it() { # label, curl args...
  local label=$1; shift
  for r in $(seq 1 "$RUNS"); do
    curl -fs -o /dev/null -w "$label run $r: %{time_total} s (HTTP %{http_code}, %{size_download} bytes)\n" "$@"
  done
}
time_it "GET /v1/invoices/W1/2026-03" "http://$ADDR/v1/invoices/W1/2026-03"
time_it "GET /v1/invoices/W1/2026-03?format=csv" "http://$ADDR/v1/invoices/W1/2026-03?format=csv"
SCENARIO='{"waba":"W1","start":"2026-04","months":3,"baseline":{"window_days":28,"until":"2026-04-01"}}'
time_it "POST /v1/forecasts (baseline)" -X POST -H 'content-type: application/json' -d "$SCENARIO" "http://$ADDR/v1/forecasts"
stop_daemon

cat > "$WORK/scenario.toml" <<TOML
waba = "W1"
start = "2026-04"
months = 3
[baseline]
window_days = 28
until = 2026-04-01
TOML
for r in $(seq 1 "$RUNS"); do
  t0=$(date +%s.%N)
  "$BIN" forecast --database-url "sqlite://$DB" --config tests/fixtures/w1.toml "$WORK/scenario.toml" > /dev/null
  echo "coexist forecast (whole process) run $r: $(echo "$(date +%s.%N) - $t0" | bc) s"
done
