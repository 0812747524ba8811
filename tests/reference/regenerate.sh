#!/usr/bin/env bash
# Regenerate every reference fixture under tests/fixtures/ from
# sentence-transformers / PyTorch. Needs the model in weights/all-MiniLM-L6-v2
# (weights/fetch.sh) and the venv from ./setup.sh. Runs fully offline.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="$here/.venv/bin/python"

[ -x "$py" ] || { echo "regenerate: no venv, run $here/setup.sh first" >&2; exit 1; }
[ -f "$root/weights/all-MiniLM-L6-v2/model.safetensors" ] \
    || { echo "regenerate: model missing, run $root/weights/fetch.sh first" >&2; exit 1; }

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
export PYTHONHASHSEED=0

cd "$root"
"$py" "$here/make_embeddings.py"
"$py" "$here/make_grad_fixture.py"
"$py" "$here/make_pair_grad_fixture.py"
echo "regenerate: all fixtures written"
