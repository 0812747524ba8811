#!/usr/bin/env bash
# The serving load benchmark (docs/performance.md "Serving under load").
# Loopback only, bounded: each run lasts SECONDS (default 15), the overload 30.
#
#   bash benches/serve/run.sh [SECONDS]      (PEERS=0: minilm only)
#   MINILM_ARGS="--precision int8" PEERS=0 bash benches/serve/run.sh 10   # minilm at int8
#       (MINILM_ARGS goes to both `minilm embed` and `minilm serve`)
#
# 1. `minilm embed` over the corpus (2,000 sentences): the offline throughput.
# 2. `minilm serve`, then each peer server, restarted for every scenario:
#    1, 8 and 64 concurrent clients sending one corpus sentence per request,
#    and 4 clients sending 32 per request (benches/serve/load.rs): throughput,
#    p50/p99 latency, the server's peak RSS.
# 3. Overload on `minilm serve`: requests of 32 sentences offered at 10x the
#    sentences/s it sustained with 64 clients, for 30 s; counts of 200 / 503 /
#    other / failed, peak and final RSS, and the seconds after the burst
#    until a one-sentence request is answered at normal speed.
# Peers: infinity-emb (benches/serve/setup_peer.sh) with its ONNX Runtime
# (optimum) engine and its torch engine, on the local model folder
# (HF_HUB_OFFLINE=1; the ONNX file is exported once by optimum-cli).
# Writes benches/serve/results/table.md and raw.jsonl; prints the table.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
secs=${1:-15}
out=benches/serve/results
mkdir -p "$out"
raw=$out/raw.jsonl
: > "$raw"
cargo build --release --quiet --features serve
load=$(cargo bench --no-run --features serve --bench serve_load --message-format=json 2>/dev/null |
    python3 -c 'import sys,json
for l in sys.stdin:
    m=json.loads(l)
    if m.get("executable") and m.get("target",{}).get("name")=="serve_load": print(m["executable"])')
bin=target/release/minilm
model=$(readlink -f weights/all-MiniLM-L6-v2)
corpus=benches/corpus/corpus.jsonl
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_health() { for _ in $(seq 600); do curl -sf "http://$1/health" > /dev/null && return 0; sleep 0.2; done; return 1; }

# 1. Offline.
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$bin" embed ${MINILM_ARGS:-} --input "$corpus" > /dev/null
offline=$(python3 -c "import sys; print(2000/($(date +%s.%N)-$start))")
echo "{\"server\":\"minilm embed (offline)\",\"sentences_per_s\":$offline}" >> "$raw"

# Start a server named $1 (minilm | infinity-onnx | infinity-torch); sets pid, addr.
start_server() {
    local port; port=$(free_port)
    addr=127.0.0.1:$port
    case $1 in
        # shellcheck disable=SC2086
        minilm) "$bin" serve ${MINILM_ARGS:-} --port "$port" 2> /dev/null & pid=$! ;;
        infinity-*)
            local engine=${1#infinity-} dir
            [ "$engine" = onnx ] && engine=optimum
            dir=$(readlink -f benches/serve/.cache/all-MiniLM-L6-v2)
            (cd "$dir" && HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 exec "$OLDPWD/benches/serve/.venv/bin/infinity_emb" v2 \
                --model-id . --engine "$engine" --device cpu --batch-size 32 --pooling-method mean \
                --host 127.0.0.1 --port "$port" --url-prefix /v1) > "$out/$1.log" 2>&1 & pid=$! ;;
    esac
    wait_health "$addr" || wait_health "$addr/v1" || { echo "$1 did not start (see $out/$1.log)" >&2; kill "$pid" 2>/dev/null; return 1; }
}
stop_server() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

# The peer's model folder: the local files plus an ONNX export (optimum-cli,
# transformers layout: last_hidden_state; infinity pools it itself) at its
# root, where infinity's optimum engine looks for it.
peer_model() {
    local dir=benches/serve/.cache/all-MiniLM-L6-v2 f
    [ -f "$dir/model.onnx" ] && return 0
    mkdir -p "$dir"
    for f in "$model"/*.json "$model"/vocab.txt "$model"/model.safetensors "$model"/1_Pooling; do
        ln -sfn "$f" "$dir/"
    done
    HF_HUB_OFFLINE=1 benches/serve/.venv/bin/optimum-cli export onnx --model "$dir" \
        --task feature-extraction --library-name transformers "$dir.export" > "$out/export.log" 2>&1
    mv "$dir.export/model.onnx" "$dir/model.onnx"
    rm -rf "$dir.export"
}
servers=(minilm)
if [ "${PEERS:-1}" = 1 ] && [ -x benches/serve/.venv/bin/infinity_emb ] && peer_model; then
    servers+=(infinity-onnx infinity-torch)
fi
for s in "${servers[@]}"; do
    name=all-MiniLM-L6-v2
    [[ $s == infinity-* ]] && name=.
    for spec in 1:1 8:1 64:1 4:32; do
        c=${spec%%:*} b=${spec##*:}
        start_server "$s" || continue
        r=$("$load" --addr "$addr" --model "$name" --clients "$c" --batch "$b" --seconds "$secs" --pid "$pid")
        stop_server
        echo "{\"server\":\"$s\",\"run\":$r}" >> "$raw"
        echo "$s clients=$c batch=$b: $r"
    done
done

# 3. Overload: 10x the 64-client sentences/s, in requests of 32, for 30 s.
sustained=$(python3 -c "import json
for l in open('$raw'):
    d=json.loads(l)
    if d.get('server')=='minilm' and d['run']['clients']==64: print(d['run']['sentences_per_s'])")
rate=$(python3 -c "print(10*$sustained/32)")
start_server minilm
r=$("$load" --addr "$addr" --rate "$rate" --workers 512 --batch 32 --seconds 30 --pid "$pid")
kill -TERM "$pid"; status=0; wait "$pid" || status=$?
echo "{\"server\":\"minilm overload\",\"exit\":$status,\"run\":$r}" >> "$raw"
echo "overload: $r (exit $status)"

python3 benches/serve/table.py "$raw" "$(uptime)" > "$out/table.md"
cat "$out/table.md"
