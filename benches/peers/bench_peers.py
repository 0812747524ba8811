#!/usr/bin/env python3
"""Peer comparison for `cargo bench --bench embed`: ONNX Runtime and
sentence-transformers on the same corpus, batch size and thread count.

    benches/peers/run.sh                                  # set up, run everything
    benches/peers/.venv/bin/python benches/peers/bench_peers.py [--threads 1,2] [--passes 3]

What is measured (each engine in its own fresh process, so its load time and
peak RSS are its own):

* ONNX Runtime (CPU, fp32): all-MiniLM-L6-v2's BertModel exported with
  torch.onnx (TorchScript exporter, eager attention), then ONNX Runtime's own
  BERT fusions (onnxruntime.transformers.optimizer: EmbedLayerNormalization,
  Attention, SkipLayerNormalization, BiasGelu -- what optimum does), cached
  under benches/peers/.cache; `--ort-graph plain` uses the export as is.
  Session with ORT_ENABLE_ALL, intra_op_num_threads = N,
  inter_op_num_threads = 1, sequential execution. Texts are sorted by length
  (longest first, as sentence-transformers does), tokenized by the model's
  fast tokenizer in batches of 32 padded to the batch's longest text,
  truncated at 256; mean pooling over the attention mask and L2
  normalisation in numpy.
* ONNX Runtime int8 (`ort-int8`): the fused fp32 graph above (the plain
  export with `--ort-graph plain`) through ONNX Runtime's dynamic
  quantization, `onnxruntime.quantization.quantize_dynamic(fp32, int8,
  per_channel=True, weight_type=QuantType.QInt8,
  extra_options={"DefaultTensorType": FLOAT})`, everything else at its
  defaults (activations QUInt8, reduce_range off, all op types the quantizer
  knows); cached as benches/peers/.cache/all-MiniLM-L6-v2.<graph>.int8.onnx
  (written by the `quantize` mode in its own process, on first use; it prints
  the quantized graph's op counts). ORT 1.31.1's quantizer handles the fused
  graph's ops (ONNX shape inference knows no type for their outputs, hence
  DefaultTensorType, the fix its error message names; every such tensor is
  float): the 18 MatMuls become DynamicQuantizeLinear + MatMulInteger (s8
  weights, symmetric, one scale per output column; u8 activations, one scale
  and zero point per tensor computed at run time over the whole padded
  batch), the 6 Attention ops QAttention (per-column s8 QKV weights, u8
  input), EmbedLayerNormalization QEmbedLayerNormalization (word, position and
  token-type tables and the LayerNorm's gamma/beta as u8, one scale per
  tensor); SkipLayerNormalization, BiasGelu, softmax and the pooling stay
  fp32. Session, tokenization, batching and pooling exactly as for fp32.
* sentence-transformers: `SentenceTransformer(model_dir, device="cpu")`,
  `encode(texts, batch_size=32)`, torch.set_num_threads(N).

Throughput: all corpus lines, one warm-up pass, then --passes timed passes
(best and median sentences/s; word pieces/s counts real tokens, [CLS]/[SEP]
included, no padding). Latency: one 12-word sentence, 20 warm-up calls then
--latency-runs timed calls, p50/p95, tokenization and pooling included.
Load: building the session / SentenceTransformer from the local folder (after
imports). Peak RSS: the process's ru_maxrss (imports included).

Before measuring, ORT's embeddings are checked against sentence-transformers'
on a few corpus lines (max |diff| <= 1e-4), batched and padded as in the run.

Offline only: HF_HUB_OFFLINE=1, the model is read from the local folder.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.environ.get("MINILM_MODEL", os.path.join(ROOT, "weights", "all-MiniLM-L6-v2"))
DEFAULT_CORPUS = os.path.join(ROOT, "benches", "corpus", "corpus.jsonl")
CACHE = os.path.join(HERE, ".cache")
SENTENCE = "The new restaurant downtown served a wonderful bowl of spicy ramen yesterday."
BATCH = 32
MAX_LEN = 256


def read_corpus(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds():
    """User + system CPU time of this process (all threads) so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def onnx_path(model_dir, graph="fused"):
    """The cached ONNX file: `plain` is torch.onnx's export as is, `fused` the
    same after ONNX Runtime's BERT fusions (onnxruntime.transformers)."""
    name = os.path.basename(os.path.normpath(model_dir))
    return os.path.join(CACHE, f"{name}.{graph}.onnx")


def int8_path(model_dir, graph="fused", ops=""):
    """The cached dynamic-int8 quantization of onnx_path(model_dir, graph):
    of the op types `ops` (comma-separated), or of all the quantizer knows."""
    name = os.path.basename(os.path.normpath(model_dir))
    tag = "int8" + ("-" + "+".join(ops.split(",")) if ops else "")
    return os.path.join(CACHE, f"{name}.{graph}.{tag}.onnx")


# ------------------------------------------------------------------ export
def export(model_dir):
    """Export BertModel (input_ids, attention_mask, token_type_ids ->
    last_hidden_state, dynamic batch and sequence axes) with torch.onnx's
    TorchScript exporter and eager attention, the graph shape ONNX Runtime's
    BERT fusions recognise; then apply those fusions (EmbedLayerNormalization,
    Attention, SkipLayerNormalization, BiasGelu) with onnxruntime.transformers,
    as optimum's ORT optimisation does. Falls back to the dynamo exporter."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    os.makedirs(CACHE, exist_ok=True)
    plain, fused = onnx_path(model_dir, "plain"), onnx_path(model_dir, "fused")
    model = AutoModel.from_pretrained(model_dir, local_files_only=True, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    enc = tok(["a short one", "and a somewhat longer second sentence for the export"], padding=True,
              return_tensors="pt")
    args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = plain + ".tmp"
    try:
        axes = {n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]}
        torch.onnx.export(Wrapper(model), args, tmp, input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
        how = "torch.onnx.export(dynamo=False, opset 17), eager attention"
    except Exception as e:
        print(f"export: TorchScript exporter failed ({type(e).__name__}: {e}); using the dynamo exporter",
              file=sys.stderr)
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
        torch.onnx.export(Wrapper(model), args, tmp, input_names=names, output_names=["last_hidden_state"],
                          dynamic_shapes={n: {0: batch, 1: seq} for n in names}, opset_version=18,
                          dynamo=True, external_data=False)
        how = "torch.onnx.export(dynamo=True, opset 18)"
    os.replace(tmp, plain)
    print(f"export: wrote {plain} ({os.path.getsize(plain) / 2**20:.1f} MiB) with {how}, torch {torch.__version__}")

    from onnxruntime.transformers.optimizer import optimize_model

    cfg = model.config
    opt = optimize_model(plain, model_type="bert", num_heads=cfg.num_attention_heads, hidden_size=cfg.hidden_size,
                         opt_level=1)
    stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    opt.save_model_to_file(fused + ".tmp")
    os.replace(fused + ".tmp", fused)
    print(f"export: wrote {fused} with ONNX Runtime's BERT fusions: {stats}")


def op_counts(path):
    import collections

    import onnx

    m = onnx.load(path, load_external_data=False)
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def quantize(model_dir, graph, ops=""):
    """quantize_dynamic(per_channel=True, weight_type=QInt8) of the cached fp32
    graph `graph`, everything else at ORT's defaults. ONNX shape inference
    gives no type for the outputs of the fused graph's com.microsoft ops, so
    the quantizer is told they are float (extra_options DefaultTensorType, the
    fix its error message names; every such tensor in this graph is float).
    `ops` (comma-separated op types) restricts op_types_to_quantize."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, dst = onnx_path(model_dir, graph), int8_path(model_dir, graph, ops)
    if not os.path.isfile(src):
        sys.exit(f"quantize: {src} is missing; run `bench_peers.py export` first")
    tmp = dst + ".tmp.onnx"  # quantize_dynamic wants a .onnx name
    quantize_dynamic(src, tmp, per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=ops.split(",") if ops else None,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    os.replace(tmp, dst)
    print(f"quantize: wrote {dst} ({os.path.getsize(dst) / 2**20:.1f} MiB) from {os.path.basename(src)} with "
          f"onnxruntime {onnxruntime.__version__} quantize_dynamic(per_channel=True, weight_type=QInt8, "
          f"extra_options={{'DefaultTensorType': FLOAT}}, "
          f"op_types_to_quantize={ops.split(',') if ops else None}); "
          f"ops: {op_counts(dst)}")


def ensure_int8(model_dir, graph, ops=""):
    """Export and quantize on first use, each in its own process (so neither
    counts in a measuring process's peak RSS)."""
    me = os.path.abspath(__file__)
    if not os.path.isfile(onnx_path(model_dir, graph)):
        subprocess.run([sys.executable, me, "export", "--model", model_dir], check=True)
    if not os.path.isfile(int8_path(model_dir, graph, ops)):
        subprocess.run([sys.executable, me, "quantize", "--model", model_dir, "--ort-graph", graph,
                        "--int8-ops", ops], check=True)


# ------------------------------------------------------------------ ORT
class OrtEncoder:
    def __init__(self, model_dir, path, threads):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.sess = ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.sess.get_inputs()}
        tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_LEN)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the batch's longest
        self.tok = tok

    def _batch(self, texts):
        import numpy as np

        encs = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.sess.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts, batch_size=BATCH):
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as sentence-transformers
        out = np.empty((len(texts), 384), dtype=np.float32)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            out[idx] = self._batch([texts[i] for i in idx])
        return out


def count_tokens(model_dir, texts):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)
    return sum(len(e.ids) for e in tok.encode_batch(texts))


# ------------------------------------------------------------------ measuring
def measure(name, threads, load_s, encode_one_pass, encode_single, texts, tokens, passes, lat_runs):
    encode_one_pass()  # warm-up
    times, cpu = [], []
    for _ in range(passes):
        t, c = time.perf_counter(), cpu_seconds()
        encode_one_pass()
        times.append(time.perf_counter() - t)
        cpu.append(cpu_seconds() - c)
    for _ in range(min(20, lat_runs)):
        encode_single()
    lat = []
    for _ in range(lat_runs):
        t = time.perf_counter()
        encode_single()
        lat.append((time.perf_counter() - t) * 1e3)
    lat.sort()
    best, med = min(times), statistics.median(times)
    return {
        "engine": name, "threads": threads, "load_ms": load_s * 1e3,
        "best_sps": len(texts) / best, "median_sps": len(texts) / med,
        "best_tps": tokens / best, "pass_s": times, "cpu_s": cpu,
        "p50_ms": lat[int(0.50 * len(lat))], "p95_ms": lat[min(len(lat) - 1, int(0.95 * len(lat)))],
        "rss_mib": peak_rss_mib(), "lines": len(texts), "tokens": tokens,
    }


def run_ort(a):
    texts = read_corpus(a.corpus)
    tokens = count_tokens(a.model, texts)
    t = time.perf_counter()
    enc = OrtEncoder(a.model, onnx_path(a.model, a.ort_graph), a.threads_one)
    load = time.perf_counter() - t
    import onnxruntime

    r = measure(f"ONNX Runtime {onnxruntime.__version__} ({a.ort_graph} graph)", a.threads_one, load, lambda: enc.encode(texts),
                lambda: enc.encode([SENTENCE]), texts, tokens, a.passes, a.latency_runs)
    print("RESULT " + json.dumps(r), flush=True)


def run_ort_int8(a):
    ensure_int8(a.model, a.ort_graph, a.int8_ops)
    texts = read_corpus(a.corpus)
    tokens = count_tokens(a.model, texts)
    t = time.perf_counter()
    enc = OrtEncoder(a.model, int8_path(a.model, a.ort_graph, a.int8_ops), a.threads_one)
    load = time.perf_counter() - t
    import onnxruntime

    ops = f", ops {a.int8_ops}" if a.int8_ops else ""
    r = measure(f"ONNX Runtime {onnxruntime.__version__} int8 (quantize_dynamic, per-channel s8 weights, "
                f"{a.ort_graph} graph{ops})", a.threads_one, load, lambda: enc.encode(texts),
                lambda: enc.encode([SENTENCE]), texts, tokens, a.passes, a.latency_runs)
    print("RESULT " + json.dumps(r), flush=True)


def run_st(a):
    import torch

    torch.set_num_threads(a.threads_one)
    torch.set_num_interop_threads(1)
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    texts = read_corpus(a.corpus)
    tokens = count_tokens(a.model, texts)
    t = time.perf_counter()
    model = SentenceTransformer(a.model, device="cpu", local_files_only=True)
    load = time.perf_counter() - t
    assert model.max_seq_length == MAX_LEN, model.max_seq_length

    def one_pass():
        with torch.inference_mode():
            return model.encode(texts, batch_size=BATCH, convert_to_numpy=True)

    def single():
        with torch.inference_mode():
            return model.encode([SENTENCE], batch_size=BATCH, convert_to_numpy=True)

    r = measure(f"sentence-transformers {sentence_transformers.__version__} (torch {torch.__version__})",
                a.threads_one, load, one_pass, single, texts, tokens, a.passes, a.latency_runs)
    print("RESULT " + json.dumps(r), flush=True)


def check(a):
    """ORT vs sentence-transformers on a few corpus lines (short, medium,
    long, truncated), batched and padded together as in the benchmark."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads_one)
    texts = read_corpus(a.corpus)
    by_len = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    pick = [texts[i] for i in (by_len[0], by_len[len(by_len) // 4], by_len[len(by_len) // 2],
                               by_len[int(len(by_len) * 0.9)], by_len[-40], by_len[-1])] + texts[:10] + [SENTENCE]
    st = SentenceTransformer(a.model, device="cpu", local_files_only=True)
    ref = st.encode(pick, batch_size=BATCH, convert_to_numpy=True)
    ort_enc = OrtEncoder(a.model, onnx_path(a.model, a.ort_graph), a.threads_one)
    got = ort_enc.encode(pick)
    one_by_one = np.stack([ort_enc.encode([t])[0] for t in pick])
    d1 = float(np.abs(got - ref).max())
    d2 = float(np.abs(one_by_one - ref).max())
    print(f"check ({a.ort_graph} graph): {len(pick)} texts, max |ORT - sentence-transformers| = {d1:.2e} (batched, padded), "
          f"{d2:.2e} (one at a time)")
    if max(d1, d2) > 1e-4:
        sys.exit("check: FAILED, ORT embeddings differ from sentence-transformers by more than 1e-4")


# ------------------------------------------------------------------ driver
def table(rows):
    out = ["| engine | threads | sentences/s (best) | sentences/s (median) | word pieces/s (best) | "
           "pass times (s) | sentences per CPU-second (best) | latency p50 (ms) | latency p95 (ms) | load (ms) | peak RSS (MiB) |",
           "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['engine']} | {r['threads']} | {r['best_sps']:.1f} | {r['median_sps']:.1f} | "
                   f"{r['best_tps']:.0f} | {', '.join(f'{s:.2f}' for s in r['pass_s'])} | {r['lines'] / min(r['cpu_s']):.1f} | "
                   f"{r['p50_ms']:.2f} | "
                   f"{r['p95_ms']:.2f} | {r['load_ms']:.0f} | {r['rss_mib']:.0f} |")
    return "\n".join(out)


def child(mode, a, threads):
    cmd = [sys.executable, os.path.abspath(__file__), mode, "--model", a.model, "--corpus", a.corpus,
           "--ort-graph", a.ort_graph, "--threads", str(threads), "--passes", str(a.passes), "--latency-runs", str(a.latency_runs)]
    print(f"bench_peers: {mode} with {threads} thread(s)...", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    sys.stdout.write("".join(l + "\n" for l in p.stdout.splitlines() if not l.startswith("RESULT ")))
    if p.returncode != 0:
        sys.exit(f"bench_peers: {mode} failed ({p.returncode})")
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.exit(f"bench_peers: {mode} printed no result")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", nargs="?", default="all",
                    choices=["all", "export", "quantize", "check", "ort", "ort-int8", "st"])
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--threads", default="2", help="ORT thread counts, comma-separated (default 2)")
    ap.add_argument("--st-threads", default="2", help="sentence-transformers thread counts (default 2)")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--latency-runs", type=int, default=300)
    ap.add_argument("--no-st", action="store_true", help="skip sentence-transformers")
    ap.add_argument("--no-int8", action="store_true", help="skip ONNX Runtime int8")
    ap.add_argument("--int8-ops", default="", help="quantize/ort-int8: op types to quantize, comma-separated "
                    "(default: all that quantize_dynamic knows)")
    ap.add_argument("--ort-graph", default="fused", choices=["fused", "plain"],
                    help="ONNX graph for ORT: with ORT's BERT fusions (default) or torch's export as is")
    ap.add_argument("--reexport", action="store_true", help="export the ONNX model even if cached")
    a = ap.parse_args()
    a.threads_one = int(a.threads.split(",")[0])
    path = onnx_path(a.model, a.ort_graph)

    if a.mode == "export":
        return export(a.model)
    if a.mode == "quantize":
        return quantize(a.model, a.ort_graph, a.int8_ops)
    if a.mode == "check":
        return check(a)
    if a.mode == "ort":
        return run_ort(a)
    if a.mode == "ort-int8":
        return run_ort_int8(a)
    if a.mode == "st":
        return run_st(a)

    if a.reexport or not os.path.isfile(path):
        subprocess.run([sys.executable, os.path.abspath(__file__), "export", "--model", a.model], check=True)
    else:
        print(f"bench_peers: using cached {path}")
    subprocess.run([sys.executable, os.path.abspath(__file__), "check", "--model", a.model, "--corpus", a.corpus,
                    "--ort-graph", a.ort_graph, "--threads", a.threads.split(",")[-1]], check=True)
    if not a.no_int8 and (a.reexport or not os.path.isfile(int8_path(a.model, a.ort_graph))):
        subprocess.run([sys.executable, os.path.abspath(__file__), "quantize", "--model", a.model,
                        "--ort-graph", a.ort_graph], check=True)
    rows = [child("ort", a, int(t)) for t in a.threads.split(",")]
    if not a.no_int8:
        rows += [child("ort-int8", a, int(t)) for t in a.threads.split(",")]
    if not a.no_st:
        rows += [child("st", a, int(t)) for t in a.st_threads.split(",")]
    r0 = rows[0]
    print()
    print(f"Peers on {a.corpus} ({r0['lines']} lines, {r0['tokens']} word pieces incl. [CLS]/[SEP]), batch {BATCH}, "
          f"{a.passes} timed pass(es) after 1 warm-up; latency: {SENTENCE!r} ({a.latency_runs} runs)")
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
