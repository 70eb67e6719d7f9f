# shellcheck shell=bash
# Shared helpers for the kernel-setup scripts. Source it; do not run it.
#
# Everything dsgym installs lives under "$DSGYM_HOME" (default: .dsgym in the
# repository), so uninstalling is deleting that directory.

DSGYM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DSGYM_HOME="${DSGYM_HOME:-$DSGYM_ROOT/.dsgym}"
DSGYM_BIN="$DSGYM_HOME/bin"
DSGYM_VENV="$DSGYM_HOME/venv"
DSGYM_STAMPS="$DSGYM_HOME/stamps"
DSGYM_STATIC="$DSGYM_HOME/static"
DSGYM_BUILD="$DSGYM_HOME/build"
export DSGYM_ROOT DSGYM_HOME

# Jupyter keeps its configuration, runtime files and settings inside .dsgym
# too, so that nothing in your home directory changes how the course runs
# (and the course changes nothing there). The kernel spec lives in the venv.
JUPYTER_CONFIG_DIR="$DSGYM_HOME/jupyter/config"
JUPYTER_DATA_DIR="$DSGYM_HOME/jupyter/data"
JUPYTER_RUNTIME_DIR="$DSGYM_HOME/jupyter/runtime"
JUPYTERLAB_SETTINGS_DIR="$DSGYM_HOME/jupyter/lab-settings"
JUPYTERLAB_WORKSPACES_DIR="$DSGYM_HOME/jupyter/lab-workspaces"
JUPYTER_PLATFORM_DIRS=1
export JUPYTER_CONFIG_DIR JUPYTER_DATA_DIR JUPYTER_RUNTIME_DIR JUPYTERLAB_SETTINGS_DIR JUPYTERLAB_WORKSPACES_DIR JUPYTER_PLATFORM_DIRS

# Minimum versions; the doctor and setup agree on these.
DSGYM_MIN_GO="1.26"
DSGYM_MIN_PY="3.10"
DSGYM_MIN_DISK_MB="${DSGYM_MIN_DISK_MB:-3000}"

if [ -t 2 ]; then
  _c_bold=$'\033[1m'; _c_red=$'\033[31m'; _c_green=$'\033[32m'; _c_yellow=$'\033[33m'; _c_off=$'\033[0m'
else
  _c_bold=""; _c_red=""; _c_green=""; _c_yellow=""; _c_off=""
fi

# step prints the start of a named setup step.
step() { printf '%s==>%s %s\n' "$_c_bold" "$_c_off" "$*" >&2; }
# info prints a detail line.
info() { printf '    %s\n' "$*" >&2; }
# ok prints a success line.
ok() { printf '    %sok%s %s\n' "$_c_green" "$_c_off" "$*" >&2; }
# warn prints a warning line.
warn() { printf '%swarning:%s %s\n' "$_c_yellow" "$_c_off" "$*" >&2; }
# die prints an error sentence and exits 1.
die() { printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; exit 1; }

# hash_of prints a SHA-256 over the given files' contents and any extra
# strings passed after "--".
hash_of() {
  local files=() extra=() seen_sep=0 a
  for a in "$@"; do
    if [ "$a" = "--" ]; then seen_sep=1; continue; fi
    if [ "$seen_sep" = 1 ]; then extra+=("$a"); else files+=("$a"); fi
  done
  {
    if [ "${#files[@]}" -gt 0 ]; then cat "${files[@]}"; fi
    if [ "${#extra[@]}" -gt 0 ]; then printf '%s\n' "${extra[@]}"; fi
  } | sha256_stdin
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1
  else shasum -a 256 | cut -d' ' -f1; fi
}

# stamp_ok NAME HASH succeeds when step NAME last completed with HASH.
stamp_ok() { [ -f "$DSGYM_STAMPS/$1" ] && [ "$(cat "$DSGYM_STAMPS/$1")" = "$2" ]; }
# stamp_set NAME HASH records that step NAME completed with HASH.
stamp_set() { mkdir -p "$DSGYM_STAMPS" && printf '%s\n' "$2" >"$DSGYM_STAMPS/$1.tmp" && mv "$DSGYM_STAMPS/$1.tmp" "$DSGYM_STAMPS/$1"; }
# stamp_clear NAME forgets step NAME, so the next setup redoes it.
stamp_clear() { rm -f "$DSGYM_STAMPS/$1"; }

# version_ge A B succeeds when dotted version A >= B.
version_ge() {
  local a="$1" b="$2" i x y
  for i in 1 2 3; do
    x=$(printf '%s' "$a" | cut -d. -f"$i"); y=$(printf '%s' "$b" | cut -d. -f"$i")
    x=${x%%[!0-9]*}; y=${y%%[!0-9]*}; x=${x:-0}; y=${y:-0}
    if [ "$x" -gt "$y" ]; then return 0; fi
    if [ "$x" -lt "$y" ]; then return 1; fi
  done
  return 0
}

# go_version prints the Go version (e.g. 1.26.8) of the go on PATH.
go_version() { go env GOVERSION 2>/dev/null | sed 's/^go//'; }

# find_python prints the first python3 interpreter on PATH that is new enough.
find_python() {
  local p v
  for p in "${DSGYM_PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10 python; do
    [ -n "$p" ] || continue
    command -v "$p" >/dev/null 2>&1 || continue
    v=$("$p" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    if version_ge "$v" "$DSGYM_MIN_PY"; then command -v "$p"; return 0; fi
  done
  return 1
}

# free_mb prints the free space in MiB of the filesystem holding $1.
free_mb() { df -Pk "$1" 2>/dev/null | awk 'NR==2 { print int($4/1024) }'; }

# as_root runs a command as root (directly, or through sudo without a prompt).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1; fi
}

# apt_install installs Debian packages when apt-get is usable; it runs
# "apt-get update" at most once per setup run.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ -z "${_dsgym_apt_updated:-}" ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    _dsgym_apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}
