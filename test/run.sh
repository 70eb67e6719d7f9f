#!/usr/bin/env bash
# run: the whole test suite, as "make test" and CI run it.
#
#   test/run.sh              everything
#   DSGYM_ONLY_STEPS="go verify" test/run.sh   only the named steps
#
# Steps: setup (with test extras), static checks, generated files in sync,
# Go tests (against SQLite and a throwaway PostgreSQL), the real engines
# (Kafka broker and 3-broker cluster, Spark Connect, PostgreSQL logical
# replication; DSGYM_SKIP_ENGINES=1 or make test-fast skips them, never in CI), setup run again (it
# must change nothing, and must repair a damaged install), exercise proofs,
# benchmarks against their budgets, every notebook as shipped and with the
# solutions filled in, notebooks in faulty situations (outside the repo, a
# panicking or hanging exercise), and the browser tests. Every step runs even when an
# earlier one failed (except setup); the summary lists them all, and the exit
# status is non-zero when any failed.
set -uo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../kernel-setup/lib.sh"
cd "$DSGYM_ROOT"

t_start=$(date +%s)
summary=()
failed=0
want() { [ -z "${DSGYM_ONLY_STEPS:-}" ] || case " $DSGYM_ONLY_STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# run_step NAME COMMAND...: runs a step, times it and records the outcome.
run_step() {
  local name="$1" t0 rc
  shift
  want "$name" || return 0
  step "$name"
  t0=$(date +%s)
  "$@"
  rc=$?
  local secs=$(( $(date +%s) - t0 ))
  if [ "$rc" = 0 ]; then
    summary+=("$(printf '%-10s ok      %4ds' "$name" "$secs")")
  elif [ "$rc" = 3 ]; then
    summary+=("$(printf '%-10s skipped %4ds' "$name" "$secs")")
  else
    summary+=("$(printf '%-10s FAILED  %4ds' "$name" "$secs")")
    failed=$((failed + 1))
  fi
}

# 1. Setup, with Chromium and PostgreSQL where they can be installed.
"$DSGYM_ROOT/kernel-setup/setup.sh" --tests || die "setup failed; nothing was tested"
export PATH="$DSGYM_BIN:$PATH"

static_checks() {
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.dsgym/*'))
  if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; return 1; fi
  go vet ./... || return 1
  (cd kernel-setup/tools && go vet ./... >/dev/null 2>&1 || true)
  for f in kernel-setup/*.sh test/*.sh .ci/run; do
    bash -n "$f" || return 1
  done
}

sync_check() {
  if dsgym sync --check; then return 0; fi
  if [ "${CI:-}" != true ] && ! git diff --quiet HEAD -- exercises notebooks 2>/dev/null; then
    warn "exercises/ or notebooks/ hold your own edits, so generated files differ; that is expected while you work (CI checks a clean clone)"
    return 0
  fi
  return 1
}

pg_url_started=""
start_pg() {
  if [ -n "${DSGYM_POSTGRES_URL:-}" ]; then
    info "using DSGYM_POSTGRES_URL from the environment"
    return 0
  fi
  local out rc
  out=$("$DSGYM_ROOT/test/pg.sh" start)
  rc=$?
  if [ "$rc" = 0 ]; then
    eval "$out"
    pg_url_started="$DSGYM_PG_DIR"
    return 0
  fi
  if [ "${CI:-}" = true ]; then
    echo "CI=true: the PostgreSQL tests must run, and no server could be started" >&2
    return 1
  fi
  warn "no PostgreSQL: its tests will report themselves as skipped (install postgresql, or set DSGYM_POSTGRES_URL)"
  return 0
}
stop_pg() {
  if [ -n "$pg_url_started" ]; then
    "$DSGYM_ROOT/test/pg.sh" stop "$pg_url_started"
    pg_url_started=""
    unset DSGYM_POSTGRES_URL DSGYM_PG_DIR
  fi
}

# The real engines for the tests run under .dsgym/test-run on ports of their
# own, so that the learner's engines (make kafka ...) are never touched.
engines_env() {
  export DSGYM_RUN_DIR="$DSGYM_HOME/test-run" DSGYM_KAFKA_PORT=29092 DSGYM_SPARK_PORT=25002 \
    DSGYM_SPARK_UI_PORT=24040 DSGYM_POSTGRES_PORT=25432
}
stop_engines() {
  [ -x "$DSGYM_BIN/dsgym" ] || return 0
  (engines_env && "$DSGYM_BIN/dsgym" engines stop >/dev/null 2>&1) || true
}
cleanup() { stop_engines; stop_pg; }
trap cleanup EXIT

# engines_tests installs the real engines, starts Kafka, Spark Connect and
# PostgreSQL, and runs, with DSGYM_REQUIRE_ENGINES=1 (a missing engine fails,
# never skips), every package whose tests use pkg/engines/enginetest and the
# notebooks whose cells drive a real engine (07's Spark cell); then it
# swaps the broker for the three-broker cluster and runs the cluster tests.
# Figures (install time, time to ready, memory) are printed beside budgets.
# loopback_only fails when an engine's process (java, postgres) listens on
# anything but the loopback interface.
loopback_only() {
  command -v ss >/dev/null 2>&1 || { info "no ss: loopback check skipped"; return 0; }
  ss -ltnpH | awk '/"(java|postgres)"/ && $4 !~ /^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):/ {
    bad = 1; print "an engine listens beyond loopback: " $4 " " $6 } END { exit bad }' >&2
}

engines_tests() {
  if [ -n "${DSGYM_SKIP_ENGINES:-}" ]; then
    if [ "${CI:-}" = true ]; then echo "CI=true: the real-engine tests cannot be skipped" >&2; return 1; fi
    info "DSGYM_SKIP_ENGINES is set (make test-fast): the real-engine tests are skipped"
    return 3
  fi
  (
    set -e
    engines_env
    "$DSGYM_ROOT/kernel-setup/engines/install.sh" all
    go build -o "$DSGYM_BIN/dsgym" ./cmd/dsgym
    local pkgs exports
    pkgs=$(go list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... |
      awk '/pkg\/engines\/enginetest/ { print $1 }' | grep -v '/enginetest$')
    exports=$("$DSGYM_BIN/dsgym" engines start kafka spark postgres)
    eval "$exports"
    export DSGYM_REQUIRE_ENGINES=1
    # shellcheck disable=SC2086
    go test -count=1 -timeout 20m -skip Cluster $pkgs
    # The Kafka benchmarks again, now with the real broker up: each prints
    # the broker's figure beside kfake's budgeted one (the bench step runs
    # without engines).
    go test -p 1 -run '^$' -bench 'TransactionalThroughput|KeyedProduce' -benchtime=1x -count=1 ./pkg/eos ./pkg/ordering 2>&1 |
      grep -E 'budget|records/s|^(ok|FAIL|panic)'
    # The notebooks with real-engine cells, run with the engines up: those
    # cells fail (not skip) under DSGYM_REQUIRE_ENGINES.
    "$DSGYM_VENV/bin/python" "$DSGYM_ROOT/test/nbrun.py" --quiet --out "$DSGYM_BUILD/nbrun-engines" \
      notebooks/07-spark-shuffle-skew.ipynb
    "$DSGYM_BIN/dsgym" engines stop kafka
    exports=$("$DSGYM_BIN/dsgym" engines start kafka-cluster)
    eval "$exports"
    export DSGYM_KAFKA_CLUSTER="$DSGYM_KAFKA_BROKERS"
    # -p 1: the packages' cluster tests kill brokers, one package at a time.
    go test -p 1 -count=1 -timeout 10m -run 'Cluster' -v ./pkg/engines/ ./pkg/ordering/ 2>&1 | grep -v '^=== '
    "$DSGYM_BIN/dsgym" engines status
    loopback_only
    "$DSGYM_BIN/dsgym" engines stop
  )
}

go_tests() {
  local pkgs
  pkgs=$(go list ./... | grep -v '/exercises/' | grep -v '/test/browser$')
  # shellcheck disable=SC2086
  go test -count=1 -timeout 15m $pkgs
}

notebooks_shipped() {
  # 00-start-here alone first, so that its warm-cell timings (printed beside
  # their budgets) are not skewed by another notebook building at the same time.
  local rc=0 rest=()
  "$DSGYM_VENV/bin/python" "$DSGYM_ROOT/test/nbrun.py" --quiet --budgets --out "$DSGYM_BUILD/nbrun" notebooks/00-start-here.ipynb || rc=1
  for nb in notebooks/*.ipynb; do [ "$nb" = notebooks/00-start-here.ipynb ] || rest+=("$nb"); done
  if [ "${#rest[@]}" -gt 0 ]; then
    "$DSGYM_VENV/bin/python" "$DSGYM_ROOT/test/nbrun.py" -j 2 --quiet --out "$DSGYM_BUILD/nbrun" "${rest[@]}" || rc=1
  fi
  return "$rc"
}

notebooks_solutions() {
  "$DSGYM_VENV/bin/python" "$DSGYM_ROOT/test/nbrun.py" -j 2 --quiet --solutions --out "$DSGYM_BUILD/nbrun" notebooks/*.ipynb
}

browser_test() {
  local out rc
  out=$(DSGYM_BROWSER_TEST=1 go test -count=1 -timeout 20m -v ./test/browser 2>&1)
  rc=$?
  printf '%s\n' "$out" | grep -v '^=== ' >&2
  if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q -- '--- SKIP'; then return 3; fi
  return "$rc"
}

# One throwaway PostgreSQL serves the Go tests, the benchmarks and the
# notebooks (03 compares SQLite with it when DSGYM_POSTGRES_URL is set); it
# stops when this script exits.
start_pg || { summary+=("$(printf '%-10s FAILED' postgres)"); failed=$((failed + 1)); }
run_step static   static_checks
run_step sync     sync_check
run_step go       go_tests
run_step engines  engines_tests
run_step setup2   env DSGYM_SETUP_TEST=1 go test -count=1 -run TestSetupTwice ./test/setup
run_step verify   dsgym verify
run_step bench    "$DSGYM_ROOT/test/bench.sh"
run_step nb       notebooks_shipped
run_step nb-sol   notebooks_solutions
run_step nb-fault env DSGYM_NOTEBOOK_TEST=1 go test -count=1 ./test/notebooks
run_step browser  browser_test

printf '\n%s==> Summary%s (%d s in all)\n' "$_c_bold" "$_c_off" "$(( $(date +%s) - t_start ))"
for line in "${summary[@]}"; do printf '    %s\n' "$line"; done
if [ "$failed" -gt 0 ]; then
  printf '%s%d step(s) failed.%s\n' "$_c_red" "$failed" "$_c_off"
  exit 1
fi
printf '%sAll steps passed.%s\n' "$_c_green" "$_c_off"
