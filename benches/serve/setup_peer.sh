#!/usr/bin/env bash
# Create benches/serve/.venv with the peer server (requirements-peer.txt).
# Idempotent: an existing venv with infinity_emb importable is kept.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
if "$venv/bin/python" -c "import infinity_emb" 2>/dev/null; then
    echo "setup_peer: $venv already has infinity_emb"
    exit 0
fi
"$venv/bin/python" -m pip install -q -r "$here/requirements-peer.txt"
