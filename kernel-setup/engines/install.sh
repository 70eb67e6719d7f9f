#!/usr/bin/env bash
# install: the real engines the later chapters run beside the simulators,
# into .dsgym/ (idempotent; a second run takes well under a second).
#
#   kernel-setup/engines/install.sh                  kafka and spark
#   kernel-setup/engines/install.sh kafka|spark|debezium|all ...
#
#   java      Java 17+ (with apt: Debian's openjdk-17-jre-headless) for them all
#   kafka     Apache Kafka broker jars (kafka.lock) into .dsgym/kafka/libs
#   spark     pyspark, which carries Spark and its Connect server, into the venv
#   debezium  Debezium embedded jars (debezium.lock) into .dsgym/debezium/libs,
#             with DsgymDebezium.java, run by the JRE's source launcher
#
# Then .dsgym/engines.env says where each installed engine is (KEY=VALUE lines).
# Jars come from Maven Central (DSGYM_MAVEN_REPO to use a mirror) through a
# download cache in ~/.cache/dsgym/maven (DSGYM_MAVEN_CACHE); no Maven needed.
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../lib.sh"

ENGINES="$DSGYM_ROOT/kernel-setup/engines"
ENV_FILE="$DSGYM_HOME/engines.env"
KAFKA_DIR="$DSGYM_HOME/kafka"
DEBEZIUM_DIR="$DSGYM_HOME/debezium"
MIN_JAVA=17
# Seconds each part may take from empty caches; the whole install, 180 s.
BUDGET_TOTAL=180
budget() { case "$1" in java) echo 60 ;; kafka) echo 30 ;; spark) echo 110 ;; debezium) echo 25 ;; esac; }

want_kafka=0 want_spark=0 want_debezium=0
[ "$#" -gt 0 ] || set -- kafka spark
for arg in "$@"; do
  case "$arg" in
    kafka) want_kafka=1 ;;
    spark) want_spark=1 ;;
    debezium) want_debezium=1 ;;
    all) want_kafka=1 want_spark=1 want_debezium=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown part $arg: choose from kafka, spark, debezium, all (try --help)" ;;
  esac
done

# now_ms prints a clock in milliseconds (whole seconds where bash has no EPOCHREALTIME).
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then local us=${EPOCHREALTIME//[!0-9]/}; echo $((10#$us / 1000))
  else echo $(( $(date +%s) * 1000 )); fi
}
# secs MS prints milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# timed PART MESSAGE prints how long PART took (since $part_t0) beside its budget.
timed() {
  local ms b
  ms=$(( $(now_ms) - part_t0 )); b=$(budget "$1")
  if [ "$ms" -gt $((b * 1000)) ]; then
    warn "$1 took $(secs "$ms") s, over its $b s budget"
  fi
  ok "$2 ($(secs "$ms") s, budget $b s)"
}

# java_major JAVA prints the major version of a java binary (8 for 1.8.0_x).
java_major() {
  local v
  v=$("$1" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)
  case "$v" in
    1.*) v=${v#1.} ;;
  esac
  v=${v%%[!0-9]*}
  [ -n "$v" ] && echo "$v"
}

# find_java prints the absolute path of the first Java $MIN_JAVA+ it finds:
# JAVA_HOME, then java on PATH, then Debian's /usr/lib/jvm.
find_java() {
  local c m
  for c in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java 2>/dev/null || true)" /usr/lib/jvm/java-*/bin/java; do
    if [ -z "$c" ] || [ ! -x "$c" ]; then continue; fi
    m=$(java_major "$c") || continue
    [ "$m" -ge "$MIN_JAVA" ] || continue
    readlink -f "$c" 2>/dev/null || echo "$c"
    return 0
  done
  return 1
}

# kafka_version and spark_version print the versions kafka.deps and
# requirements-spark.txt pin.
kafka_version() { sed -n 's/^org\.apache\.kafka:kafka_2\.13:\([^:[:space:]]*\).*/\1/p' "$ENGINES/kafka.deps" | head -n1; }
spark_version() { sed -n 's/^pyspark==\([^[:space:]\\]*\).*/\1/p' "$ENGINES/requirements-spark.txt" | head -n1; }
venv_site() { "$DSGYM_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
lock_count() { grep -cv '^[[:space:]]*\(#\|$\)' "$1"; }
jar_count() { find "$1" -maxdepth 1 -name '*.jar' 2>/dev/null | wc -l | tr -d ' '; }
dir_mib() { du -sk "$1" 2>/dev/null | awk '{ print int($1 / 1024) }'; }

# fetch_jars LOCK DEST downloads the jars LOCK pins into DEST.
fetch_jars() {
  local py
  py=$(find_python) || die "the jar downloader needs Python $DSGYM_MIN_PY or newer: run kernel-setup/doctor.sh"
  "$py" "$ENGINES/fetch_jars.py" "$1" "$2" || die "the $(basename "$1" .lock) jars are not installed (the reason is above); run this again once it is fixed"
}

t_all=$(now_ms)
mkdir -p "$DSGYM_HOME" "$DSGYM_STAMPS"

# --- java ----------------------------------------------------------------------
part_t0=$(now_ms)
if ! JAVA=$(find_java); then
  step "Java $MIN_JAVA or newer (Debian's openjdk-17-jre-headless)"
  if apt_install openjdk-17-jre-headless; then
    info "installed openjdk-17-jre-headless with apt"
  fi
  JAVA=$(find_java) ||
    die "the real engines need Java $MIN_JAVA or newer: install Debian's openjdk-17-jre-headless (sudo apt-get install openjdk-17-jre-headless) and run this again."
fi
timed java "Java $(java_major "$JAVA") ($JAVA)"

# --- kafka ---------------------------------------------------------------------
if [ "$want_kafka" = 1 ]; then
  part_t0=$(now_ms)
  kv=$(kafka_version)
  lock="$ENGINES/kafka.lock"
  conf_src="$ENGINES/kafka-log4j2.properties"
  h=$(hash_of "$lock" "$conf_src" -- "$JAVA")
  if stamp_ok engines-kafka "$h" && [ "$(jar_count "$KAFKA_DIR/libs")" = "$(lock_count "$lock")" ] && [ -f "$KAFKA_DIR/log4j2.properties" ]; then
    timed kafka "Kafka $kv: up to date"
  else
    step "Apache Kafka $kv broker jars ($(lock_count "$lock") from kafka.lock) into $KAFKA_DIR/libs"
    stamp_clear engines-kafka
    mkdir -p "$KAFKA_DIR/libs"
    fetch_jars "$lock" "$KAFKA_DIR/libs"
    cp -f "$conf_src" "$KAFKA_DIR/log4j2.properties.tmp" && mv -f "$KAFKA_DIR/log4j2.properties.tmp" "$KAFKA_DIR/log4j2.properties"
    # A first run: the classpath is complete, logging binds (no "SLF4J: No
    # SLF4J providers") and the config loads: stdout is the UUID, stderr empty
    # but for the JVM's own "Picked up ..." notes.
    err="$KAFKA_DIR/.check.err"
    out=$("$JAVA" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$KAFKA_DIR/libs/*" kafka.tools.StorageTool random-uuid 2>"$err") ||
      die "Kafka's StorageTool did not run from $KAFKA_DIR/libs: $(head -n3 "$err")"
    complaint=$(grep -v '^Picked up ' "$err" | head -n3 || true)
    rm -f "$err"
    case "$complaint" in
      *SLF4J*) die "Kafka's logging is not bound ($complaint); kafka.lock must pin slf4j-api 2.x beside log4j-slf4j2-impl" ;;
      ?*) die "Kafka's StorageTool complained on stderr: $complaint" ;;
    esac
    [[ "$out" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "Kafka's StorageTool printed something other than a cluster id: $out"
    stamp_set engines-kafka "$h"
    timed kafka "Kafka $kv: $(jar_count "$KAFKA_DIR/libs") jars, $(dir_mib "$KAFKA_DIR/libs") MiB (cluster id check: $out)"
  fi
fi

# --- spark ---------------------------------------------------------------------
if [ "$want_spark" = 1 ]; then
  part_t0=$(now_ms)
  sv=$(spark_version)
  [ -x "$DSGYM_VENV/bin/python" ] ||
    die "Spark goes into the course's Python environment, which is not there ($DSGYM_VENV): run make setup first."
  req="$ENGINES/requirements-spark.txt"
  site=$(venv_site)
  connect_jar="$site/pyspark/jars/spark-connect_2.13-$sv.jar"
  h=$(hash_of "$req" -- "$("$DSGYM_VENV/bin/python" -c 'import sys; print(sys.version)')")
  if stamp_ok engines-spark "$h" && [ -f "$connect_jar" ]; then
    timed spark "Spark $sv: up to date"
  else
    step "Apache Spark $sv (pyspark, a 456 MB download built once; pip's cache keeps it) into $DSGYM_VENV"
    stamp_clear engines-spark
    mb=$(free_mb "$DSGYM_HOME")
    if [ -n "$mb" ] && [ "$mb" -lt 1500 ]; then
      die "Only $mb MiB free on the disk holding $DSGYM_HOME: Spark needs about 1500 MiB (the package and pip's cache of it)."
    fi
    "$DSGYM_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2 ||
      die "pip could not install $req into $DSGYM_VENV (its message is above)"
    [ -f "$connect_jar" ] || die "pyspark $sv installed but has no $connect_jar, so there is no Spark Connect server to start"
    stamp_set engines-spark "$h"
    timed spark "Spark $sv: $(dir_mib "$site/pyspark") MiB in $site/pyspark"
  fi
fi

# --- debezium ------------------------------------------------------------------
if [ "$want_debezium" = 1 ]; then
  part_t0=$(now_ms)
  lock="$ENGINES/debezium.lock"
  main_src="$ENGINES/DsgymDebezium.java"
  h=$(hash_of "$lock" "$main_src" -- "$JAVA")
  if stamp_ok engines-debezium "$h" && [ "$(jar_count "$DEBEZIUM_DIR/libs")" = "$(lock_count "$lock")" ] && [ -f "$DEBEZIUM_DIR/DsgymDebezium.java" ]; then
    timed debezium "Debezium: up to date"
  else
    step "Debezium embedded jars ($(lock_count "$lock") from debezium.lock) into $DEBEZIUM_DIR/libs"
    stamp_clear engines-debezium
    mkdir -p "$DEBEZIUM_DIR/libs"
    fetch_jars "$lock" "$DEBEZIUM_DIR/libs"
    cp -f "$main_src" "$DEBEZIUM_DIR/DsgymDebezium.java.tmp" && mv -f "$DEBEZIUM_DIR/DsgymDebezium.java.tmp" "$DEBEZIUM_DIR/DsgymDebezium.java"
    # The source launcher compiles it against the jars (the JRE carries the
    # compiler); with no arguments it then stops at its usage line (status 2).
    rc=0
    out=$("$JAVA" -cp "$DEBEZIUM_DIR/libs/*" "$DEBEZIUM_DIR/DsgymDebezium.java" 2>&1) || rc=$?
    case "$rc:$out" in
      2:*"usage: java"*) ;;
      *) die "DsgymDebezium.java did not compile and start with $JAVA (status $rc): $out" ;;
    esac
    stamp_set engines-debezium "$h"
    timed debezium "Debezium: $(jar_count "$DEBEZIUM_DIR/libs") jars, $(dir_mib "$DEBEZIUM_DIR/libs") MiB; DsgymDebezium.java compiles"
  fi
fi

# --- engines.env -----------------------------------------------------------------
# Rewritten from what is on disk, so parts installed by an earlier run stay listed.
# Plain KEY=VALUE lines (no quoting, no comments) for the Go supervisor.
{
  echo "JAVA=$JAVA"
  if [ -f "$DSGYM_STAMPS/engines-kafka" ] && [ -f "$KAFKA_DIR/log4j2.properties" ] && [ "$(jar_count "$KAFKA_DIR/libs")" -gt 0 ]; then
    echo "KAFKA_LIBS=$KAFKA_DIR/libs"
    echo "KAFKA_LOG4J=$KAFKA_DIR/log4j2.properties"
    echo "KAFKA_VERSION=$(kafka_version)"
  fi
  if [ -x "$DSGYM_VENV/bin/python" ] && [ -f "$DSGYM_STAMPS/engines-spark" ]; then
    site=${site:-$(venv_site)}
    if [ -f "$site/pyspark/jars/spark-connect_2.13-$(spark_version).jar" ]; then
      echo "SPARK_HOME=$site/pyspark"
      echo "SPARK_VERSION=$(spark_version)"
    fi
  fi
  if [ -f "$DSGYM_STAMPS/engines-debezium" ] && [ -f "$DEBEZIUM_DIR/DsgymDebezium.java" ] && [ "$(jar_count "$DEBEZIUM_DIR/libs")" -gt 0 ]; then
    echo "DEBEZIUM_LIBS=$DEBEZIUM_DIR/libs"
    echo "DEBEZIUM_MAIN=$DEBEZIUM_DIR/DsgymDebezium.java"
  fi
} >"$ENV_FILE.tmp"
if cmp -s "$ENV_FILE.tmp" "$ENV_FILE"; then rm -f "$ENV_FILE.tmp"; else mv -f "$ENV_FILE.tmp" "$ENV_FILE"; fi

ms=$(( $(now_ms) - t_all ))
[ "$ms" -le $((BUDGET_TOTAL * 1000)) ] || warn "the engines took $(secs "$ms") s, over the $BUDGET_TOTAL s budget"
ok "engines ready in $(secs "$ms") s (budget $BUDGET_TOTAL s); where they are: $ENV_FILE"
