#!/usr/bin/env bash
# pin-jars: resolve kernel-setup/engines/NAME.deps with Maven and write every
# runtime jar, with its SHA-256, to kernel-setup/engines/NAME.lock.
#
#   kernel-setup/engines/pin-jars.sh kafka
#   kernel-setup/engines/pin-jars.sh debezium
#
# A maintainer tool: it needs Maven (mvn) and a JDK. Learners never run it;
# install.sh downloads exactly what the lock file lists, with no Maven.
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../lib.sh"

# The plugin version is pinned so that re-pinning resolves the same way.
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

case "${1:-}" in
  ""|-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
[ "$#" = 1 ] || die "give one name, such as kafka (it reads NAME.deps)"
name="$1"
here="$DSGYM_ROOT/kernel-setup/engines"
deps="$here/$name.deps"
lock="$here/$name.lock"
[ -f "$deps" ] || die "there is no $deps: create it with one group:artifact:version a line"
command -v mvn >/dev/null 2>&1 || die "pin-jars needs Maven: install it (on Debian: apt-get install maven)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A throwaway pom with the top-level coordinates as dependencies.
{
  cat <<'POM'
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dsgym.pin</groupId>
  <artifactId>pin</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
POM
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%#*}"
    line="$(printf '%s' "$line" | tr -d '[:space:]')"
    [ -n "$line" ] || continue
    IFS=: read -r g a v c extra <<<"$line"
    if [ -z "$g" ] || [ -z "$a" ] || [ -z "$v" ] || [ -n "${extra:-}" ]; then
      die "$deps: '$line' is not group:artifact:version[:classifier]"
    fi
    printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version>' "$g" "$a" "$v"
    [ -z "${c:-}" ] || printf '<classifier>%s</classifier>' "$c"
    printf '</dependency>\n'
    n=$((n + 1))
  done <"$deps"
  [ "$n" -gt 0 ] || die "$deps lists no coordinates"
  cat <<'POM'
  </dependencies>
</project>
POM
} >"$tmp/pom.xml"

step "Resolving $name.deps with $(mvn -v 2>/dev/null | head -n1 | sed 's/\x1b\[[0-9;]*m//g')"
# The repository layout keeps group, artifact and version in the path, which
# is what the lock file (and the download URL) needs. Maven's output is shown
# only when it fails (Maven 3.8 prints bare colour codes even with -q -B).
if ! (cd "$tmp" && mvn -q -B "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
    -DoutputDirectory="$tmp/libs" -Dmdep.useRepositoryLayout=true -Dmdep.copyPom=false) >"$tmp/mvn.log" 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' "$tmp/mvn.log" >&2
  die "Maven could not resolve $deps (its output is above)"
fi

# One line per file: group:artifact:version[:classifier] sha256 filename.
(
  cd "$tmp/libs"
  find . -type f -name '*.jar' | sed 's|^\./||' | LC_ALL=C sort | while IFS= read -r rel; do
    file="${rel##*/}"; dir="${rel%/*}"
    version="${dir##*/}"; dir="${dir%/*}"
    artifact="${dir##*/}"; dir="${dir%/*}"
    group="${dir//\//.}"
    base="${file%.*}"
    case "$base" in
      "$artifact-$version") coord="$group:$artifact:$version" ;;
      "$artifact-$version-"*) coord="$group:$artifact:$version:${base#"$artifact-$version-"}" ;;
      *) die "cannot read $rel as group/artifact/version/file" ;;
    esac
    printf '%s %s %s\n' "$coord" "$(sha256_stdin <"$rel")" "$file"
  done
) | LC_ALL=C sort >"$tmp/lines"

# The jars land side by side in one directory: two with one file name would clash.
dup=$(awk '{print $3}' "$tmp/lines" | LC_ALL=C sort | uniq -d | head -n1)
[ -z "$dup" ] || die "two resolved jars share the file name $dup; they cannot live in one libs directory"

count=$(wc -l <"$tmp/lines" | tr -d ' ')
bytes=$(find "$tmp/libs" -type f -name '*.jar' -exec cat {} + | wc -c | tr -d ' ')
{
  echo "# $name.lock: every runtime jar of $name.deps, pinned with its SHA-256 ($count jars, $((bytes / 1048576)) MiB)."
  echo "# Made by kernel-setup/engines/pin-jars.sh $name ($DEP_PLUGIN copy-dependencies, runtime scope)."
  echo "# Do not edit by hand: change $name.deps and run that command again."
  echo "# group:artifact:version[:classifier] sha256 filename"
  cat "$tmp/lines"
} >"$lock.tmp"
mv -f "$lock.tmp" "$lock"
ok "wrote kernel-setup/engines/$name.lock ($count jars, $((bytes / 1048576)) MiB)"
