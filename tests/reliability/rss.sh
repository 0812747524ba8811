#!/usr/bin/env bash
# Peak resident memory of `minilm embed` (and `predict`, given a checkpoint)
# on generated JSON Lines inputs of several sizes: streaming means the peak
# does not grow with the input. Numbers go to docs/reliability.md.
#
#   bash tests/reliability/rss.sh [LINES ...]        (default: 10000 200000)
#   CHECKPOINT=runs/last2 bash tests/reliability/rss.sh   # also predict
#   WORDS=1 bash tests/reliability/rss.sh 1000 30000      # 1-word lines (faster)
#
# Needs GNU time (/usr/bin/time) and a release build (built if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/minilm
[ -x "$bin" ] || cargo build --release
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 200000)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
words=(market film oil rate bank great dull price movie crude quarter profit story actor share)
for n in "${sizes[@]}"; do
    in=$tmp/in-$n.jsonl
    # Short lines of WORDS..WORDS+3 words (default 6–9) and a number, deterministic.
    awk -v n="$n" -v w="${words[*]}" -v base="${WORDS:-6}" 'BEGIN { split(w, W, " "); m = length(W);
        for (i = 0; i < n; i++) { k = base + (base > 1 ? i % 4 : 0); s = "";
            for (j = 0; j < k; j++) s = s (j ? " " : "") W[1 + (i * 7 + j * 3) % m];
            printf "{\"id\":%d,\"text\":\"%s %d\"}\n", i, s, i } }' > "$in"
    for cmd in embed predict; do
        args=("$cmd" --input "$in")
        if [ "$cmd" = predict ]; then
            [ -n "${CHECKPOINT:-}" ] || continue
            args+=(--checkpoint "$CHECKPOINT")
        fi
        /usr/bin/time -v "$bin" "${args[@]}" > "$tmp/out" 2> "$tmp/time"
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
        lines=$(wc -l < "$tmp/out")
        printf '%-8s %8d lines  peak RSS %7.1f MiB  wall %s  (%d output lines)\n' \
            "$cmd" "$n" "$(echo "$rss / 1024" | bc -l)" "$wall" "$lines"
    done
done
