#!/usr/bin/env bash
# pg: a throwaway PostgreSQL server for the tests, on a free loopback port in
# a temporary directory.
#
#   eval "$(test/pg.sh start)"   starts it and prints the exports:
#                                DSGYM_POSTGRES_URL, DSGYM_PG_DIR
#   test/pg.sh restart DIR       restarts it (fast shutdown: sessions are cut)
#   test/pg.sh stop DIR          stops it and deletes DIR
#
# DSGYM_PG_WAL_LEVEL sets its wal_level (logical by default) and
# DSGYM_PG_MAX_PREPARED its max_prepared_transactions (20): the tests start
# second servers with replica and 0 to see what is refused, and how.
#
# When PostgreSQL's server binaries cannot be found, "start" prints nothing to
# stdout, explains on stderr, and exits 3 (the tests then skip PostgreSQL;
# under CI they fail instead).
set -euo pipefail

find_bin() {
  local d
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"; return 0
  fi
  for d in /usr/lib/postgresql/*/bin /usr/local/opt/postgresql*/bin /opt/homebrew/opt/postgresql*/bin; do
    if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then printf '%s\n' "$d"; return 0; fi
  done
  return 1
}

# as_pg runs a command as the postgres user when we are root (PostgreSQL
# refuses to run as root), else as ourselves.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "${1:-}" in
  start)
    bin=$(find_bin) || { echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package to run the PostgreSQL tests." >&2; exit 3; }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/dsgym-pg.XXXXXX")
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || { echo "running as root, but there is no postgres user to run the server as" >&2; exit 3; }
      chown postgres "$dir"
    fi
    port=$(free_port)
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U dsgym -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
      echo "initdb failed; see $dir/initdb.log" >&2; cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
wal_level = ${DSGYM_PG_WAL_LEVEL:-logical}
max_prepared_transactions = ${DSGYM_PG_MAX_PREPARED:-20}
max_replication_slots = 20
max_wal_senders = 20
max_connections = 200
CONF
    echo "host replication all 127.0.0.1/32 trust" >>"$dir/data/pg_hba.conf"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null || {
      echo "PostgreSQL did not start; see $dir/server.log" >&2; cat "$dir/server.log" >&2; exit 1; }
    printf 'export DSGYM_POSTGRES_URL=%q\n' "postgres://dsgym@127.0.0.1:$port/postgres?sslmode=disable"
    printf 'export DSGYM_PG_DIR=%q\n' "$dir"
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)" >&2
    ;;
  restart)
    dir="${2:?usage: pg.sh restart DIR}"
    bin=$(find_bin) || exit 3
    [ -d "$dir/data" ] || { echo "no PostgreSQL data in $dir" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null || {
      echo "PostgreSQL did not restart; see $dir/server.log" >&2; exit 1; }
    ;;
  stop)
    dir="${2:?usage: pg.sh stop DIR}"
    bin=$(find_bin) || exit 0
    if [ -d "$dir/data" ]; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in
      */dsgym-pg.*) rm -rf "$dir" ;;
      *) echo "refusing to delete $dir: not a dsgym-pg directory" >&2; exit 1 ;;
    esac
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
