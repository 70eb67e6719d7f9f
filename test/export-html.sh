#!/usr/bin/env bash
# export-html: execute every notebook (as shipped) and export it as a static
# HTML page into .dsgym/build/html, with the chart library inlined once per
# page, so the pages draw their charts offline and can be shared as files.
#
#   test/export-html.sh [NOTEBOOK...]
#   test/export-html.sh --from DIR      export notebooks already executed in DIR
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/../kernel-setup/lib.sh"
cd "$DSGYM_ROOT"
[ "${1:-}" = "--from" ] || "$DSGYM_ROOT/kernel-setup/setup.sh"

exec_dir="$DSGYM_BUILD/html-executed"
out_dir="${DSGYM_HTML_OUT:-$DSGYM_BUILD/html}"
mkdir -p "$out_dir"
if [ "${1:-}" = "--from" ]; then
  exec_dir="${2:?--from needs a directory of executed notebooks}"
  nbs=()
  for f in "$exec_dir"/*.ipynb; do
    case "$f" in *.solutions.ipynb) ;; *) [ -e "$f" ] && nbs+=("notebooks/$(basename "$f")") ;; esac
  done
  [ "${#nbs[@]}" -gt 0 ] || die "no executed notebooks in $exec_dir"
else
  nbs=("$@")
  [ "${#nbs[@]}" -gt 0 ] || nbs=(notebooks/*.ipynb)
  mkdir -p "$exec_dir"
  step "Executing ${#nbs[@]} notebook(s)"
  "$DSGYM_VENV/bin/python" test/nbrun.py -j 2 --quiet --out "$exec_dir" "${nbs[@]}"
fi
step "Exporting HTML into $out_dir"
for nb in "${nbs[@]}"; do
  name=$(basename "$nb" .ipynb)
  "$DSGYM_VENV/bin/jupyter" nbconvert --to html --template lab --output-dir "$out_dir" "$exec_dir/$name.ipynb" >/dev/null 2>&1 ||
    die "nbconvert failed for $nb"
  "$DSGYM_VENV/bin/python" - "$out_dir/$name.html" "$DSGYM_STATIC/dsgym/echarts.min.js" <<'PY'
import sys
page, lib = sys.argv[1], sys.argv[2]
html = open(page, encoding="utf-8").read()
try:
    js = open(lib, encoding="utf-8").read()
except OSError:
    sys.exit(0)  # no local copy: the charts load ECharts from the CDN
inline = ("<script>window.__dsgymAMD=window.define;window.define=undefined;</script>\n"
          "<script>" + js.replace("</script", "<\\/script") + "</script>\n"
          "<script>window.define=window.__dsgymAMD;</script>\n")
html = html.replace("</head>", inline + "</head>", 1)
open(page, "w", encoding="utf-8").write(html)
PY
  info "$out_dir/$name.html"
done
ok "open the pages in any browser; they need no server and no network"
