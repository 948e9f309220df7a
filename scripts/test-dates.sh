#!/usr/bin/env bash
# The date runs (npm run test:dates, part of npm test): the tests whose rules read the date, run
# again with the clock of every Node process of the run moved to each instant below, so that no
# test passes only in the month it was written. The clock is moved by a Node preload
# (test/support/shift-clock.mjs, in NODE_OPTIONS): vitest, its workers and each `opensim` process
# a test spawns share one moved clock, running from the instant; the servers (Redis, nats-server,
# the MongoDB-wire JVM) keep real time, as libfaketime could not (docs/testing.md, "Dates").
#
# Usage: scripts/test-dates.sh [instant ...]      (default: the four instants below)
# TEST_DATES_JOBS: how many instants run at once (default 2: the runs mostly wait on timers, and
# each test's deployment is isolated by its prefix; 1 runs them one after the other).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

INSTANTS=("$@")
if [[ ${#INSTANTS[@]} -eq 0 ]]; then
  INSTANTS=(
    2026-12-31T23:59:30+01:00 # the turn of a year, 30 s into the run
    2027-03-28T01:59:30+01:00 # spring: 02:00 Paris does not exist that night
    2027-10-31T02:59:30+02:00 # autumn: 02:00-03:00 Paris happens twice
    2028-02-29T12:00:00+01:00 # a leap day
  )
fi
JOBS="${TEST_DATES_JOBS:-2}"

# Every test that compares a date with the current time (docs/testing.md, "Dates": the audit).
FILES=(
  test/e2e/rollover.e2e.spec.ts
  test/e2e/scheduled-change.e2e.spec.ts
  test/e2e/request-status.e2e.spec.ts
  test/e2e/console-browser.e2e.spec.ts
  test/e2e/console-http.e2e.spec.ts
  test/e2e/plan-change-preview.e2e.spec.ts
  test/e2e/usage-thresholds.e2e.spec.ts
  test/e2e/cli-request.e2e.spec.ts
  test/int/record-expiry.int.spec.ts
  test/cli-envelope.unit.spec.ts
  test/shift-clock.unit.spec.ts
  src/cli/
  src/http/console/
  src/runtime/clock.unit.spec.ts
)

LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT

# One instant: a vitest run of its own, its output kept to be shown once it ends.
run_instant() {
  local k="$1" instant="$2" began
  began=$(date +%s)
  if OPENSIM_FAKE_NOW="$instant" OPENSIM_FAKE_NOW_AT="$(date +%s%3N)" \
    NODE_OPTIONS="--import ${ROOT}/test/support/shift-clock.mjs ${NODE_OPTIONS:-}" \
    npx vitest run "${FILES[@]}" 2>&1 | sed $'s/\x1b\[[0-9;]*m//g' >"$LOGS/$k.log"; then
    echo "passed in $(($(date +%s) - began)) s" >"$LOGS/$k.result"
  else
    echo "FAILED after $(($(date +%s) - began)) s" >"$LOGS/$k.result"
  fi
}

started=$(date +%s)
echo "test:dates: ${#INSTANTS[@]} instants, ${JOBS} at a time: ${INSTANTS[*]}"
for k in "${!INSTANTS[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do wait -n || true; done
  run_instant "$k" "${INSTANTS[$k]}" &
done
wait

failed=()
for k in "${!INSTANTS[@]}"; do
  result="$(cat "$LOGS/$k.result" 2>/dev/null || echo 'FAILED (no result)')"
  echo "test:dates: the clock of every test process at ${INSTANTS[$k]}: ${result}"
  # A passing run shows its summary; a failing one, all of it.
  if [[ "$result" == passed* ]]; then
    grep -E '^ *(Test Files|Tests|Duration) ' "$LOGS/$k.log" || true
  else
    cat "$LOGS/$k.log"
    failed+=("${INSTANTS[$k]}")
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "test:dates: failed at ${failed[*]} ($(($(date +%s) - started)) s)"
  exit 1
fi
echo "test:dates: all ${#INSTANTS[@]} instants passed in $(($(date +%s) - started)) s"
