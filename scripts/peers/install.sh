#!/usr/bin/env bash
# The peers cosamt is compared with, each in its own environment under /tmp/peers (never a
# dependency of cosamt). AccelForge needs Python >= 3.12 and Graphviz's `dot`; ZigZag runs on 3.11.
#   PY312=/path/to/python3.12 scripts/peers/install.sh
set -euo pipefail
# A python3.12 on PATH may be a pyenv shim with no version selected: use the first that runs.
if [ -z "${PY312:-}" ]; then
  for candidate in python3.12 /root/.pyenv/versions/3.12*/bin/python; do
    if "$candidate" -c "" 2>/dev/null; then PY312="$candidate"; break; fi
  done
fi
: "${PY312:?no working Python 3.12 found: set PY312}"
PY311="${PY311:-$(command -v python3.11)}"
DEST="${PEERS_DIR:-/tmp/peers}"
mkdir -p "$DEST"
command -v dot >/dev/null || { apt-get install -y graphviz || sudo apt-get install -y graphviz; }
[ -x "$DEST/af/bin/python" ] || "$PY312" -m venv "$DEST/af"
"$DEST/af/bin/pip" install -q accelforge
[ -x "$DEST/zz/bin/python" ] || "$PY311" -m venv "$DEST/zz"
"$DEST/zz/bin/pip" install -q zigzag-dse==3.9.1 six
echo "AccelForge: $DEST/af/bin/python   ZigZag: $DEST/zz/bin/python"
