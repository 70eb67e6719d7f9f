#!/usr/bin/env bash
# bench: runs the benchmarks that carry a budget (pkg/budget) and prints each
# figure beside its budget; a figure beyond its budget fails the run. One
# package at a time (-p 1), so that two benchmarks never share the cores.
#
#   test/bench.sh                 every budgeted benchmark, once each (make test)
#   DSGYM_BENCHTIME=3s test/bench.sh ./pkg/shard   longer runs, one package (make bench)
set -uo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../kernel-setup/lib.sh"
cd "$DSGYM_ROOT"

pkgs=("$@")
if [ "${#pkgs[@]}" = 0 ]; then
  while IFS= read -r d; do pkgs+=("./$d"); done < <(grep -rl --include='*_test.go' 'budget\.At' pkg solutions internal 2>/dev/null | xargs -r -n1 dirname | sort -u)
fi
if [ "${#pkgs[@]}" = 0 ]; then
  echo "no budgeted benchmarks yet" >&2
  exit 0
fi
out=$(go test -p 1 -run '^$' -bench . -benchtime="${DSGYM_BENCHTIME:-1x}" -count=1 -timeout 20m "${pkgs[@]}" 2>&1)
rc=$?
printf '%s\n' "$out" | grep -E 'budget|^(ok|FAIL|---|panic)' >&2
printf '%s\n' "$out" | grep -E 'budget' | sed 's/^ *[a-z_]*\.go:[0-9]*: //' | sort -u >"$DSGYM_BUILD/budgets.txt" 2>/dev/null || true
if [ "$rc" != 0 ]; then
  # What a failing benchmark said, wherever it is in the output, then the end.
  printf '%s\n' "$out" | grep -B3 -A12 -e '--- FAIL' >&2
  printf '%s\n' "$out" | tail -20 >&2
  exit 1
fi
