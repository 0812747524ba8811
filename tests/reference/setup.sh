#!/usr/bin/env bash
# Create tests/reference/.venv and install the pinned requirements.
# Idempotent: if the venv already has exactly the pinned versions, nothing is
# installed (and no network is touched).
#
#   PYTHON=python3.11 ./setup.sh         # choose the interpreter (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating $venv with $py"
    "$py" -m venv "$venv"
fi

# Are all pins already satisfied? (compare installed versions with the file)
check_pins() {
    "$venv/bin/python" - "$req" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
bad = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, want = line.split("==")
    try:
        have = version(name).split("+")[0]   # torch reports e.g. 2.15.0+cpu
    except PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
}

if check_pins >/dev/null 2>&1; then
    echo "setup: $venv already satisfies requirements.txt"
    exit 0
fi

"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -r "$req"
check_pins
echo "setup: done"
