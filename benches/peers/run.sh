#!/usr/bin/env bash
# Re-measure minilm against its peers on this machine, all in one run:
#   1. set up benches/peers/.venv (pinned requirements.txt; no-op when done),
#   2. check that benches/corpus/corpus.jsonl is what make_corpus.py generates,
#   3. ONNX Runtime fp32 and dynamic int8 + sentence-transformers
#      (bench_peers.py; exports and quantizes the ONNX model into
#      benches/peers/.cache on first use),
#   4. the PyTorch training-step reference (train_step_pytorch.py),
#   5. cargo bench --bench embed (minilm at 1 and 2 threads).
# Output is also saved to benches/peers/.cache/results-<UTC time>.txt.
#
#   benches/peers/run.sh                      # everything
#   PEERS_ARGS="--threads 1,2" benches/peers/run.sh   # extra bench_peers.py arguments
#   SKIP_TRAIN=1 SKIP_CARGO=1 benches/peers/run.sh
#   SKIP_FIDELITY=1 benches/peers/run.sh       # skip fidelity_peers.py (ORT vs exact f32)
#
# Needs the model folder (weights/fetch.sh). Fully offline apart from pip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$here/.cache"
log="$here/.cache/results-$(date -u +%Y%m%dT%H%M%SZ).txt"

"$here/setup.sh"
py="$here/.venv/bin/python"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs"
    echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "${MINILM_BENCH_REV:-?}")"
    echo "load before: $(uptime)"

    tmp="$(mktemp)"
    "$py" "$root/benches/corpus/make_corpus.py" --out "$tmp" --stats | tail -n +2
    if ! cmp -s "$tmp" "$root/benches/corpus/corpus.jsonl"; then
        echo "run.sh: benches/corpus/corpus.jsonl differs from make_corpus.py's output" >&2
        rm -f "$tmp"
        exit 1
    fi
    rm -f "$tmp"

    echo
    echo "## Peers: ONNX Runtime and sentence-transformers"
    # shellcheck disable=SC2086
    "$py" "$here/bench_peers.py" ${PEERS_ARGS:-}

    if [ "${SKIP_FIDELITY:-0}" != "1" ]; then
        echo
        echo "## Fidelity of ONNX Runtime fp32 and int8 to sentence-transformers f32"
        "$py" "$here/fidelity_peers.py"
    fi

    if [ "${SKIP_TRAIN:-0}" != "1" ]; then
        echo
        echo "## PyTorch training step"
        "$py" "$here/train_step_pytorch.py"
    fi

    if [ "${SKIP_CARGO:-0}" != "1" ]; then
        echo
        echo "## minilm (cargo bench --bench embed)"
        (cd "$root" && cargo bench --bench embed)
    fi
    echo
    echo "load after: $(uptime)"
} 2>&1 | tee "$log"
echo "run.sh: saved to $log"
