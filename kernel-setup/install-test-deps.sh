#!/usr/bin/env bash
# install-test-deps: what the test suite needs beyond the learner's setup:
# a headless Chromium for the browser test and PostgreSQL server binaries for
# the database tests. Installed with apt where it can be (root, or sudo without
# a password). Where it cannot, the tests that need them report themselves as
# skipped, except under CI (CI=true), where a missing one is an error.
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/lib.sh"

missing=()
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; }
have_postgres() { command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }

have_chromium || missing+=(chromium)
have_postgres || missing+=(postgresql)
[ "${#missing[@]}" = 0 ] && exit 0

step "Test dependencies: ${missing[*]}"
if apt_install "${missing[@]}"; then
  ok "installed ${missing[*]} with apt"
  exit 0
fi
msg="could not install ${missing[*]} (needs apt-get and root or password-less sudo)"
if [ "${CI:-}" = true ]; then
  die "$msg; CI must run the browser and PostgreSQL tests"
fi
warn "$msg; the tests that need them will be skipped. Install them yourself to run everything."
