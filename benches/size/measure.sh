#!/usr/bin/env bash
# docs/size.md: size, cold start, peak RSS and corpus throughput of several
# `minilm` binaries, measured interleaved (round-robin) so that load from
# other jobs on the machine hits every binary alike.
#
#   bash benches/size/measure.sh ROUNDS LABEL=BIN[:ARGS] ...
#
# ARGS (optional, after a colon) are passed to `minilm embed`, e.g.
# `--model weights/all-MiniLM-L6-v2`. Prints one line per binary and round:
# label, size (bytes), cold start (s, one sentence: process start, model load,
# tokenise, forward, exit), its peak RSS (KB), then for the corpus: wall time
# (s), CPU time (user + sys, s) and peak RSS (KB). The corpus is $CORPUS,
# default benches/corpus/corpus.jsonl (2,000 lines). On a loaded machine the
# CPU time is the stabler number (wall time includes waiting for a core).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rounds=$1
shift
corpus=${CORPUS:-benches/corpus/corpus.jsonl}
one=$(mktemp)
echo '{"text": "A man is eating food."}' > "$one"
printf '%-24s %10s %7s %7s %9s %9s %9s %9s\n' label bytes cold_s cold_cpu cold_kb corpus_s corpus_cpu corpus_kb
for r in $(seq "$rounds"); do
    for spec in "$@"; do
        label=${spec%%=*}
        rest=${spec#*=}
        bin=${rest%%:*}
        args=""
        [[ $rest == *:* ]] && args=${rest#*:}
        size=$(stat -c %s "$bin")
        # shellcheck disable=SC2086
        "$bin" embed $args --input "$one" > /dev/null # warm the page cache
        # shellcheck disable=SC2086
        cold=$( { /usr/bin/time -f '%e %U %S %M' "$bin" embed $args --input "$one" > /dev/null; } 2>&1 | tail -1)
        # shellcheck disable=SC2086
        corpus_t=$( { /usr/bin/time -f '%e %U %S %M' "$bin" embed $args --input "$corpus" > /dev/null; } 2>&1 | tail -1)
        read -r cw cu cs ck <<< "$cold"
        read -r pw pu ps pk <<< "$corpus_t"
        printf '%-24s %10s %7s %7.2f %9s %9s %9.2f %9s\n' "$label" "$size" "$cw" "$(echo "$cu + $cs" | bc)" "$ck" "$pw" "$(echo "$pu + $ps" | bc)" "$pk"
    done
done
rm -f "$one"
