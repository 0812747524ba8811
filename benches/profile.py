#!/usr/bin/env python3
"""Where the time of `minilm embed` goes: `perf record -g` of one pass of
the embed bench's child (benches/embed.rs, the corpus at batch 32) and the
share of the samples in each part of the forward pass.

    python3 benches/profile.py                 # 2 threads, f32
    python3 benches/profile.py --threads 1 --precision int8

Needs `perf` (linux-tools) and the permission to record (perf_event_paranoid
≤ 2, or root). Prints a Markdown table for docs/performance.md. Each sample
is counted once, by the function it was taken in (self time, no children),
and the function's name says which part it belongs to (PARTS below; the
first pattern that matches wins). Standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benches"))
from headline import embed_bench_exe, git_rev, machine  # noqa: E402

# (part, regular expression over the demangled function name), first match wins.
PARTS = [
    ("int8 products (qgemm)", r"qgemm"),
    ("bf16 products (bgemm)", r"bgemm"),
    ("GEMM microkernel", r"gemm::.*(kernel|micro)"),
    ("GEMM packing", r"gemm::.*pack"),
    ("GEMM epilogue (bias, residual)", r"gemm::linear_impl::\{\{closure|epilogue"),
    ("attention (scores, softmax, context)", r"attention"),
    ("GELU", r"gelu"),
    ("LayerNorm", r"layer_norm|layernorm"),
    ("softmax (elsewhere)", r"softmax"),
    ("thread team: waiting and hand-off", r"team::|parallel|futex|sched_yield|spin|park|rayon|crossbeam"),
    ("copies and zeroing", r"memcpy|memset|memmove|clear_page|copy_"),
    ("tokenizer", r"tokenizers|onig|regex|unicode|normaliz"),
    ("embeddings, pooling, normalisation", r"embeddings|pool|l2_normalize"),
    ("operating-system kernel (scheduling, page faults)", r"^\[k\]|do_|page_fault|asm_exc"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16", "int8"])
    ap.add_argument("--top", type=int, default=12, help="also list the top N functions")
    a = ap.parse_args()
    exe = embed_bench_exe()
    env = dict(os.environ, MINILM_BENCH_CHILD="1", RAYON_NUM_THREADS=str(a.threads),
               MINILM_BENCH_PASSES="1", MINILM_BENCH_LATENCY_RUNS="1", MINILM_BENCH_PRECISION=a.precision)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        rec = subprocess.run(["perf", "record", "-g", "-o", data, "--", exe, "--bench"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if rec.returncode != 0:
            sys.exit(f"profile: perf record failed:\n{rec.stderr}")
        result = next((l for l in rec.stdout.splitlines() if l.startswith("RESULT ")), "")
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio",
                              "-g", "none", "--percent-limit", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, check=True).stdout
    rows = []
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\[.\])\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), f"{m.group(2)} {m.group(3).strip()}"))
    total = sum(p for p, _ in rows) or 1.0
    shares = {}
    for pct, name in rows:
        part = next((p for p, rx in PARTS if re.search(rx, name, re.I)), "other")
        shares[part] = shares.get(part, 0.0) + pct
    print(f"perf record -g of one pass, {a.threads} thread(s), {a.precision}, commit {git_rev()}, {machine()}")
    if result:
        print(result)
    print("\n| part | share of samples |\n|---|---:|")
    for part, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"| {part} | {100 * pct / total:.1f} % |")
    print(f"\ntop {a.top} functions (self):")
    for pct, name in sorted(rows, reverse=True)[:a.top]:
        print(f"  {100 * pct / total:5.1f} %  {name[:110]}")


if __name__ == "__main__":
    main()
