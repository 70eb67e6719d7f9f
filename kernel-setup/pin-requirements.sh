#!/usr/bin/env bash
# pin-requirements: resolve kernel-setup/requirements.in in a scratch venv and
# write every installed package, pinned, to kernel-setup/requirements.txt.
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/lib.sh"
PY=$(find_python) || die "no Python $DSGYM_MIN_PY+ found"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$DSGYM_ROOT/kernel-setup/requirements.in"
{
  echo "# Pinned by kernel-setup/pin-requirements.sh from requirements.in with Python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())')."
  echo "# Do not edit by hand: change requirements.in and run make requirements."
  "$tmp/venv/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable
} >"$DSGYM_ROOT/kernel-setup/requirements.txt"
echo "wrote kernel-setup/requirements.txt ($(grep -vc '^#' "$DSGYM_ROOT/kernel-setup/requirements.txt") packages)" >&2
