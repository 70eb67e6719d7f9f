#!/usr/bin/env bash
# lab: set up what is missing, then start the project's JupyterLab on
# notebooks/00-start-here.ipynb, bound to 127.0.0.1, and print the URL.
#
#   DSGYM_PORT=8888      first port to try (the next free one is used)
#   DSGYM_NO_BROWSER=1   do not open a browser
set -euo pipefail
# shellcheck source=kernel-setup/lib.sh
. "$(dirname "$0")/lib.sh"

"$DSGYM_ROOT/kernel-setup/setup.sh"

port=$("$DSGYM_VENV/bin/python" - "${DSGYM_PORT:-8888}" <<'PY'
import socket, sys
start = int(sys.argv[1])
for port in range(start, start + 100):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
else:
    sys.exit("no free port between %d and %d" % (start, start + 99))
PY
)
token=$("$DSGYM_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')
url="http://127.0.0.1:$port/lab/tree/notebooks/00-start-here.ipynb?token=$token"
browser_flag=()
if [ -n "${DSGYM_NO_BROWSER:-}" ]; then
  browser_flag=(--no-browser)
elif [ "$(uname -s)" != Darwin ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  browser_flag=(--no-browser) # no desktop to open a browser on
fi
printf '\n%sdsgym:%s JupyterLab is starting. Open this URL in your browser:\n\n    %s\n\n(Ctrl-C twice to stop.)\n\n' "$_c_bold" "$_c_off" "$url" >&2
root_flag=()
if [ "$(id -u)" = 0 ]; then root_flag=(--allow-root); fi
cd "$DSGYM_ROOT"
exec "$DSGYM_VENV/bin/jupyter" lab \
  --ServerApp.ip=127.0.0.1 \
  --ServerApp.port="$port" \
  --ServerApp.port_retries=0 \
  --IdentityProvider.token="$token" \
  --ServerApp.root_dir="$DSGYM_ROOT" \
  --LabApp.default_url="/lab/tree/notebooks/00-start-here.ipynb" \
  "${browser_flag[@]}" "${root_flag[@]}"
