#!/usr/bin/env bash
# start: install what an engine needs, then start it (make kafka, make
# kafka-cluster, make spark, make postgres call this).
#
#   kernel-setup/engines/start.sh kafka|kafka-cluster|spark|postgres ...
#
# The export lines that point notebooks and tests at the engines go to
# stdout; progress and figures (time to ready beside its budget, memory) go
# to stderr. So both of these work:
#   make kafka                       read the line and paste it
#   eval "$(make -s kafka)"          set it in this shell
# Ports move with DSGYM_KAFKA_PORT, DSGYM_SPARK_PORT, DSGYM_SPARK_UI_PORT,
# DSGYM_POSTGRES_PORT; data lives in .dsgym/run/NAME (DSGYM_RUN_DIR).
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../lib.sh"
[ "$#" -gt 0 ] || die "name the engines to start: kafka, kafka-cluster, spark, postgres"

parts=()
for e in "$@"; do
  case "$e" in
    kafka|kafka-cluster) parts+=(kafka) ;;
    spark)
      # Spark goes into the course's Python environment.
      [ -x "$DSGYM_VENV/bin/python" ] || "$DSGYM_ROOT/kernel-setup/setup.sh" >&2
      parts+=(spark) ;;
    postgres)
      if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        step "PostgreSQL server programs"
        apt_install postgresql || die "PostgreSQL is not installed and apt-get could not install it: install the postgresql package"
      fi ;;
    *) die "unknown engine $e: choose from kafka, kafka-cluster, spark, postgres" ;;
  esac
done
if [ "${#parts[@]}" -gt 0 ]; then
  "$DSGYM_ROOT/kernel-setup/engines/install.sh" "${parts[@]}" >&2
fi
mkdir -p "$DSGYM_BIN"
(cd "$DSGYM_ROOT" && go build -o "$DSGYM_BIN/dsgym" ./cmd/dsgym) >&2 || die "could not build the dsgym command"
exec "$DSGYM_BIN/dsgym" engines start "$@"
