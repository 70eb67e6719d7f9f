#!/usr/bin/env bash
# doctor: checks what dsgym needs and says, one sentence per problem, how to fix it.
#
#   kernel-setup/doctor.sh          everything (prerequisites and the installed kernel)
#   kernel-setup/doctor.sh --quick  only the prerequisites setup needs (run before setup)
#
# Exit status: 0 when nothing blocks, 1 when something does.
set -uo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/lib.sh"

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  ""|--full) mode=full ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option ${1}: use --quick or nothing" ;;
esac

problems=0
notes=0
problem() { printf '%sPROBLEM%s %s\n' "$_c_red" "$_c_off" "$*" >&2; problems=$((problems + 1)); }
note() { printf '%snote%s    %s\n' "$_c_yellow" "$_c_off" "$*" >&2; notes=$((notes + 1)); }
good() { [ -n "${DSGYM_DOCTOR_QUIET:-}" ] || printf '%sok%s      %s\n' "$_c_green" "$_c_off" "$*" >&2; }

# --- prerequisites -----------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  problem "Go is not installed or not on PATH: install Go $DSGYM_MIN_GO or newer from https://go.dev/dl/ and open a new shell."
else
  gv=$(go_version)
  if [ -z "$gv" ] || ! version_ge "$gv" "$DSGYM_MIN_GO"; then
    problem "Go ${gv:-unknown} is too old: dsgym needs Go $DSGYM_MIN_GO or newer (the Kafka chapters' kfake needs it); install it from https://go.dev/dl/."
  else
    good "Go $gv ($(command -v go))"
  fi
fi

if py=$(find_python); then
  pv=$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  if "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    good "Python $pv ($py)"
  else
    problem "Python $pv at $py cannot create virtual environments: install the venv module (on Debian/Ubuntu: sudo apt-get install python3-venv)."
  fi
else
  problem "No Python $DSGYM_MIN_PY or newer found on PATH: install Python 3.10+ (or point DSGYM_PYTHON at one)."
fi

command -v git >/dev/null 2>&1 && good "git" || problem "git is not installed: install git (it is used to tell your own edits from the course's files)."

case "$DSGYM_ROOT" in
  *"'"*|*'"'*|*'\'*|*'$'*|*'`'*) problem "The repository's path ($DSGYM_ROOT) contains a quote, backslash, dollar or backquote, which the kernel launcher cannot hold: clone it into a plainer path." ;;
esac
mkdir -p "$DSGYM_HOME" 2>/dev/null || problem "Cannot create $DSGYM_HOME: make the repository directory writable."
if [ -d "$DSGYM_HOME" ]; then
  mb=$(free_mb "$DSGYM_HOME")
  if [ -n "$mb" ] && [ "$mb" -lt "$DSGYM_MIN_DISK_MB" ]; then
    problem "Only ${mb} MiB free on the disk holding $DSGYM_HOME: free at least $DSGYM_MIN_DISK_MB MiB (the Go build cache and JupyterLab need it)."
  else
    good "disk: ${mb:-?} MiB free"
  fi
fi
if command -v go >/dev/null 2>&1; then
  gocache=$(go env GOCACHE 2>/dev/null)
  if [ -n "$gocache" ]; then
    mkdir -p "$gocache" 2>/dev/null
    mb=$(free_mb "$gocache")
    if [ -n "$mb" ] && [ "$mb" -lt 1000 ]; then
      problem "Only ${mb} MiB free for the Go build cache at $gocache: free at least 1000 MiB or set GOCACHE to a roomier place."
    fi
  fi
fi

if [ "$mode" = quick ]; then
  [ "$problems" = 0 ] && exit 0
  printf '%d problem(s): fix them, then run the same command again. Nothing was installed.\n' "$problems" >&2
  exit 1
fi

# --- what setup installed ----------------------------------------------------
fix="run: make setup"
if [ -x "$DSGYM_VENV/bin/python" ] && "$DSGYM_VENV/bin/python" -c 'import jupyterlab, nbclient' >/dev/null 2>&1; then
  good "JupyterLab $("$DSGYM_VENV/bin/python" -c 'import jupyterlab; print(jupyterlab.__version__)') in $DSGYM_VENV"
else
  problem "The project's Python environment ($DSGYM_VENV) is missing or broken: $fix."
fi

for tool in gonb goimports gopls; do
  if [ -x "$DSGYM_BIN/$tool" ]; then good "$tool ($DSGYM_BIN/$tool)"
  else problem "$tool is not built in $DSGYM_BIN: $fix."; fi
done

spec="$DSGYM_VENV/share/jupyter/kernels/gonb/kernel.json"
if [ -f "$spec" ]; then
  if grep -q "$DSGYM_BIN/gonb-kernel" "$spec" && [ -x "$DSGYM_BIN/gonb-kernel" ]; then
    good "GoNB kernel registered ($spec)"
  else
    problem "The GoNB kernel points somewhere else (was the repository moved?): $fix."
  fi
  if [ -x "$DSGYM_BIN/gonb-kernel" ] && ! "$DSGYM_BIN/gonb-kernel" --check >/dev/null 2>&1; then
    problem "The kernel cannot find its tools (go, goimports, gopls) with the PATH it was registered with: $fix."
  fi
else
  problem "The GoNB kernel is not registered with the project's JupyterLab: $fix."
fi

if [ -s "$DSGYM_STATIC/dsgym/echarts.min.js" ]; then
  good "ECharts library for offline charts"
else
  problem "The offline chart library is missing ($DSGYM_STATIC/dsgym/echarts.min.js): $fix (charts fall back to the CDN until then)."
fi

if stamp_ok warm "$(hash_of "$DSGYM_ROOT/go.sum" -- "$(go_version)")" 2>/dev/null; then
  good "Go build cache warmed for the current go.sum"
else
  note "The Go build cache has not been warmed for this go.sum, so the first notebook cell will take about 10 s: make setup warms it."
fi

# Test-only extras: reported, never blocking here.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
  good "a Chromium for the browser test"
else
  note "No Chromium: the browser test will be skipped (make test installs it with apt where it can; or install chromium yourself)."
fi
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  good "PostgreSQL server binaries for the database tests"
else
  note "No PostgreSQL server: its tests will be skipped (make test installs it with apt where it can; or set DSGYM_POSTGRES_URL)."
fi

# Java runs only the real engines (kernel-setup/engines/install.sh looks in the
# same places: JAVA_HOME, PATH, /usr/lib/jvm); the lab never needs it.
java_fix="real engines (make kafka / make spark / make test) need Java 17+: install Debian's openjdk-17-jre-headless (apt-get install openjdk-17-jre-headless)"
java_ok="" java_old=""
for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java 2>/dev/null || true)" /usr/lib/jvm/java-*/bin/java; do
  if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
  jv=$("$c" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)
  case "$jv" in 1.*) jv=${jv#1.} ;; esac
  jv=${jv%%[!0-9]*}
  if [ -n "$jv" ] && [ "$jv" -ge 17 ]; then java_ok="Java $jv ($c)"; break; fi
  [ -n "$java_old" ] || java_old="Java ${jv:-of unknown version} at $c"
done
if [ -n "$java_ok" ]; then
  good "$java_ok for the real engines"
elif [ -n "$java_old" ]; then
  note "$java_old is too old (the lab does not need it): $java_fix."
else
  note "No Java (the lab does not need it): $java_fix."
fi

if [ "$problems" = 0 ]; then
  printf 'All good%s.\n' "$([ "$notes" -gt 0 ] && printf ' (%d note(s) above)' "$notes")" >&2
  exit 0
fi
printf '%d problem(s) found.\n' "$problems" >&2
exit 1
