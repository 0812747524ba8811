#!/usr/bin/env python3
"""The headline table of docs/performance.md: measure each engine row, record
it, and rewrite the table between the marker comments of the doc.

    python3 benches/headline.py                    # measure the default rows, rewrite the table
    python3 benches/headline.py --engines minilm:2,ort:2
    python3 benches/headline.py --render-only      # rewrite the table from the recorded rows
    python3 benches/headline.py --quick --doc /tmp/perf.md --records /tmp/rows.json   # smoke test
    python3 benches/headline.py --spread 12 --engines minilm:2,ort:2   # the ratio's spread (prints it)

Rows are `ENGINE:THREADS`. Each row runs in a fresh process, one after the
other (never two at once), on benches/corpus/corpus.jsonl: throughput over all
lines at batch 32 (one warm-up pass, then --passes timed passes, the best
counted), single-sentence latency (20 warm-up calls, then --latency-runs
timed calls, p50), peak RSS of the process and model load time.

* minilm rows run the child of `cargo bench --bench embed` (benches/embed.rs)
  with RAYON_NUM_THREADS set: the library's `Encoder::embed`.
* peer rows run benches/peers/bench_peers.py MODE in the venv made by
  benches/peers/setup.sh (created on first use: it pip-installs torch,
  onnxruntime, sentence-transformers at pinned versions); the ONNX export is
  made on first use and checked against sentence-transformers before
  measuring.

Every measured row is stored in benches/headline.json (engine, threads, the
figures, the commit, the date, the machine), replacing the stored row of the
same engine and threads; the table is rendered from that file, so rows
measured at different times say so in the table's note.

To add a row kind (another precision, another peer), add an entry to ENGINES
below: `minilm_engine(label, env)` for a variant of the embed bench selected
by environment variables, `peer_engine(label, mode)` for a bench_peers.py mode
that prints a `RESULT {json}` line like `ort` and `st` do.

Standard library only; Python is used here to measure peers, never in
minilm's run path.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
VENV_PY = os.path.join(PEERS, ".venv", "bin", "python")
DOC = os.path.join(ROOT, "docs", "performance.md")
RECORDS = os.path.join(HERE, "headline.json")
BEGIN, END = "<!-- headline:begin -->", "<!-- headline:end -->"
COMMAND = "python3 benches/headline.py"


def minilm_engine(label, env=None):
    return {"label": label, "kind": "minilm", "env": env or {}}


def peer_engine(label, mode):
    return {"label": label, "kind": "peer", "mode": mode}


# Row kinds, in the order the table lists them.
ENGINES = {
    "minilm": minilm_engine("minilm f32"),
    "minilm-bf16": minilm_engine("minilm bf16", {"MINILM_BENCH_PRECISION": "bf16"}),
    "minilm-int8": minilm_engine("minilm int8", {"MINILM_BENCH_PRECISION": "int8"}),
    "ort": peer_engine("ONNX Runtime fp32", "ort"),
    "ort-int8": peer_engine("ONNX Runtime int8 (dynamic, per-channel s8)", "ort-int8"),
    "st": peer_engine("sentence-transformers (PyTorch fp32)", "st"),
}
DEFAULT_ROWS = "minilm:1,minilm:2,minilm-bf16:2,minilm-int8:1,minilm-int8:2,ort:1,ort:2,ort-int8:1,ort-int8:2,st:2"
# The reference of the "vs ORT" column: this engine at the same thread count.
BASELINE = "ort"


def log(msg):
    print(f"headline: {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


# ------------------------------------------------------------------ runners
def embed_bench_exe():
    """Build `cargo bench --bench embed` and return its executable."""
    out = subprocess.run(["cargo", "bench", "--bench", "embed", "--no-run", "--message-format=json"],
                         cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "embed" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("headline: cargo did not report the embed bench's executable")


def run_minilm(engine, threads, a, cache):
    if "exe" not in cache:
        cache["exe"] = embed_bench_exe()
    env = dict(os.environ, MINILM_BENCH_CHILD="1", RAYON_NUM_THREADS=str(threads),
               MINILM_BENCH_PASSES=str(a.passes), MINILM_BENCH_LATENCY_RUNS=str(a.latency_runs), **engine["env"])
    p = subprocess.run([cache["exe"], "--bench"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"headline: minilm with {threads} thread(s) failed ({p.returncode})")
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit("headline: the embed bench printed no RESULT line")
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    return {"best_sps": float(kv["best_sps"]), "median_sps": float(kv["median_sps"]),
            "p50_ms": float(kv["p50_ms"]), "p95_ms": float(kv["p95_ms"]), "rss_mib": float(kv["rss_mib"]),
            "load_ms": float(kv["load_ms"]), "passes": len(kv["pass_s"].split(",")), "version": ""}


def prepare_peers(cache):
    if cache.get("peers"):
        return
    sh(["bash", os.path.join(PEERS, "setup.sh")])
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    fused = os.path.join(PEERS, ".cache", "all-MiniLM-L6-v2.fused.onnx")
    if not os.path.isfile(fused):
        sh([VENV_PY, os.path.join(PEERS, "bench_peers.py"), "export"], env=env)
    sh([VENV_PY, os.path.join(PEERS, "bench_peers.py"), "check"], env=env)
    cache["peers"] = True


def run_peer(engine, threads, a, cache):
    prepare_peers(cache)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [VENV_PY, os.path.join(PEERS, "bench_peers.py"), engine["mode"], "--threads", str(threads),
           "--passes", str(a.passes), "--latency-runs", str(a.latency_runs)]
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"headline: {' '.join(cmd)} failed ({p.returncode})")
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"headline: {engine['mode']} printed no RESULT line")
    r = json.loads(line[len("RESULT "):])
    return {"best_sps": r["best_sps"], "median_sps": r["median_sps"], "p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"],
            "rss_mib": r["rss_mib"], "load_ms": r["load_ms"], "passes": len(r["pass_s"]), "version": r["engine"]}


# ------------------------------------------------------------------ table
def row_order(rec):
    keys = list(ENGINES)
    k = rec["engine"]
    return (keys.index(k) if k in keys else len(keys), k, rec["threads"])


def render(records):
    recs = sorted(records, key=row_order)
    base = {(r["threads"], r["machine"]): r for r in recs if r["engine"] == BASELINE}
    out = ["| engine | threads | sentences/s (corpus) | vs ONNX Runtime | single sentence p50 (ms) | "
           "peak RSS (MiB) | load (ms) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        b = base.get((r["threads"], r["machine"]))  # a ratio only between rows of one machine
        ratio = f"{r['best_sps'] / b['best_sps']:.2f}×" if b else "–"
        label = ENGINES.get(r["engine"], {}).get("label", r["engine"])
        out.append(f"| {label} | {r['threads']} | {r['best_sps']:.1f} | {ratio} | {r['p50_ms']:.2f} | "
                   f"{r['rss_mib']:.0f} | {r['load_ms']:.0f} |")
    runs = {}
    for r in recs:
        day = r["date"][:10]
        runs.setdefault((r["commit"], day, r["machine"], r.get("quick", False)), []).append(r)
    notes = []
    for (commit, _, mach, quick), rs in runs.items():
        dates = sorted(r["date"] for r in rs)
        date = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        names = ", ".join(f"{ENGINES.get(r['engine'], {}).get('label', r['engine'])} ({r['threads']})" for r in rs)
        extra = " QUICK SMOKE RUN (1 pass, few latency calls): not a measurement." if quick else ""
        versions = sorted({r["version"] for r in rs if r.get("version")})
        ver = f" Versions: {'; '.join(versions)}." if versions else ""
        notes.append(f"* {names}: measured {date} at commit {commit} on {mach}, best of "
                     f"{max(r['passes'] for r in rs)} pass(es).{ver}{extra}")
    return "\n".join(out) + "\n\n" + "\n".join(notes) + "\n"


def quartiles(xs):
    """Median and the two quartiles (linear interpolation) of xs."""
    xs = sorted(xs)
    def q(f):
        i = f * (len(xs) - 1)
        lo = int(i)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)
    return q(0.5), q(0.25), q(0.75)


def spread(a, rows):
    """--spread N: N interleaved rounds of the two rows (one timed pass
    each, first row then second), then the per-round ratios of the first
    row's throughput and p50 to the second's: median, quartiles, range.
    Prints them; records nothing."""
    if len(rows) != 2:
        sys.exit("headline: --spread compares exactly two rows (--engines A:T,B:T)")
    a.passes = 1
    cache, sps, p50 = {}, [], []
    for k in range(a.spread):
        figs = []
        for name, threads in rows:
            engine = ENGINES[name]
            run = run_minilm if engine["kind"] == "minilm" else run_peer
            figs.append(run(engine, threads, a, cache))
        sps.append(figs[0]["best_sps"] / figs[1]["best_sps"])
        p50.append(figs[0]["p50_ms"] / figs[1]["p50_ms"])
        log(f"round {k + 1}: throughput ratio {sps[-1]:.2f}, p50 ratio {p50[-1]:.2f}")
    (n0, t0), (n1, t1) = rows
    print(f"{a.spread} interleaved rounds, {n0}:{t0} over {n1}:{t1}, at commit {git_rev()} on {machine()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:")
    for what, xs in (("throughput ratio", sps), ("p50 latency ratio", p50)):
        m, lo, hi = quartiles(xs)
        print(f"  {what}: median {m:.2f} (quartiles {lo:.2f}-{hi:.2f}, range {min(xs):.2f}-{max(xs):.2f})")
    slower = sum(1 for x in sps if x < 1)
    print(f"  rounds where {n0} was slower: {slower} of {a.spread}")


def write_doc(path, block):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    b, e = doc.find(BEGIN), doc.find(END)
    if b < 0 or e < b:
        sys.exit(f"headline: {path}: no {BEGIN} … {END} block")
    new = doc[:b] + BEGIN + "\n" + block + doc[e:]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    log(f"rewrote the table in {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default=DEFAULT_ROWS, help=f"rows ENGINE:THREADS, comma-separated "
                    f"(default {DEFAULT_ROWS}; engines: {', '.join(ENGINES)})")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="1 pass, 30 latency calls: a smoke test of this script")
    ap.add_argument("--render-only", action="store_true", help="measure nothing; rewrite the table from the records")
    ap.add_argument("--doc", default=DOC)
    ap.add_argument("--records", default=RECORDS)
    ap.add_argument("--spread", type=int, default=0, metavar="N",
                    help="N interleaved rounds of the two --engines rows; print the spread of their ratio")
    a = ap.parse_args()
    if a.quick:
        a.passes, a.latency_runs = 1, 30
    if a.spread:
        rows = []
        for spec in a.engines.split(","):
            name, _, t = spec.strip().partition(":")
            if name not in ENGINES:
                sys.exit(f"headline: unknown engine {name!r} (known: {', '.join(ENGINES)})")
            rows.append((name, int(t or "2")))
        spread(a, rows)
        return

    records = []
    if os.path.isfile(a.records):
        with open(a.records, encoding="utf-8") as f:
            records = json.load(f)
    if not a.render_only:
        cache = {}
        rev, mach = git_rev(), machine()
        for spec in a.engines.split(","):
            name, _, t = spec.strip().partition(":")
            if name not in ENGINES:
                sys.exit(f"headline: unknown engine {name!r} (known: {', '.join(ENGINES)})")
            threads = int(t or "2")
            engine = ENGINES[name]
            log(f"measuring {name} with {threads} thread(s)")
            run = run_minilm if engine["kind"] == "minilm" else run_peer
            fig = run(engine, threads, a, cache)
            rec = dict(fig, engine=name, threads=threads, commit=rev, machine=mach,
                       date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), quick=a.quick)
            records = [r for r in records if (r["engine"], r["threads"]) != (name, threads)] + [rec]
            tmp = a.records + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(sorted(records, key=row_order), f, indent=1, ensure_ascii=False)
                f.write("\n")
            os.replace(tmp, a.records)
    write_doc(a.doc, render(records))


if __name__ == "__main__":
    main()
