#!/usr/bin/env python3
"""How close ONNX Runtime's embeddings (fp32 and dynamic int8) are to the
exact f32 ones, with the measures examples/precision_fidelity.rs uses for
minilm's own precisions:

    benches/peers/setup.sh
    benches/peers/.venv/bin/python benches/peers/fidelity_peers.py [--threads 2]

* exact reference: sentence-transformers' f32 embeddings
  (`SentenceTransformer(model_dir).encode(texts, batch_size=32)`,
  normalised), checked against tests/fixtures/embeddings/reference.safetensors
  on the fixture texts;
* cosine of each embedding to the exact one: min and mean, over the reference
  fixture texts (tests/fixtures/embeddings/texts.json) and the corpus
  (benches/corpus/corpus.jsonl);
* top-10 nearest-neighbour agreement on the corpus: for each line, the share
  of its 10 nearest other lines by cosine under the exact embeddings that are
  also among its 10 nearest under the engine's, averaged over the lines (ties
  broken by the lower line index; similarities in float64).

Engines: the graphs bench_peers.py measures (its `ort` and `ort-int8` modes,
exported and quantized on first use into benches/peers/.cache), encoding as
there: sorted by length, batches of 32 padded to the batch's longest text.
ORT int8 quantizes activations with one scale per tensor, so its embedding of
a text depends on the batch it is in (padding included); the "one text at a
time" row encodes each text alone (batch of 1, no padding). With
`--int8-ops MatMul,Attention` (for example) a further row quantizes only
those op types (quantize_dynamic's op_types_to_quantize), to show which
quantized ops cost the fidelity.

Prints one Markdown table. Offline: the model is read from the local folder.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_peers import (BATCH, DEFAULT_CORPUS, DEFAULT_MODEL, ROOT, OrtEncoder, ensure_int8,  # noqa: E402
                         int8_path, onnx_path, read_corpus)

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "embeddings")


def fixture_texts():
    with open(os.path.join(FIXTURES, "texts.json"), encoding="utf-8") as f:
        return [t["text"] for t in json.load(f)]


def cosines(exact, approx):
    """Min and mean cosine of matching rows (rows are re-normalised)."""
    e = exact.astype(np.float64)
    a = approx.astype(np.float64)
    c = (e * a).sum(1) / (np.linalg.norm(e, axis=1) * np.linalg.norm(a, axis=1))
    return float(c.min()), float(c.mean())


def nearest(e, k=10):
    """Row i: indices of the k nearest other rows by cosine, ties by index."""
    e = e.astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    s = e @ e.T
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]  # stable: equal scores keep index order


def top10_agreement(exact, approx):
    a, b = nearest(exact), nearest(approx)
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b)]))


def check_reference(st_fixtures):
    """sentence-transformers here vs the committed fixture embeddings."""
    from safetensors.numpy import load_file

    ref = load_file(os.path.join(FIXTURES, "reference.safetensors"))
    want = np.stack([ref[f"embedding/{i:03d}"] for i in range(len(st_fixtures))])
    d = float(np.abs(want - st_fixtures).max())
    print(f"reference check: max |sentence-transformers - reference.safetensors| = {d:.2e} "
          f"over {len(st_fixtures)} fixture texts", file=sys.stderr)
    if d > 1e-4:
        sys.exit("fidelity_peers: sentence-transformers disagrees with the committed fixtures by more than 1e-4")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ort-graph", default="fused", choices=["fused", "plain"])
    ap.add_argument("--int8-ops", default="", help="also: int8 of only these op types (comma-separated)")
    a = ap.parse_args()

    import onnxruntime
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(a.threads)
    fixtures, corpus = fixture_texts(), read_corpus(a.corpus)
    st = SentenceTransformer(a.model, device="cpu", local_files_only=True)
    with torch.inference_mode():
        exact_f = st.encode(fixtures, batch_size=BATCH, convert_to_numpy=True, normalize_embeddings=True)
        exact_c = st.encode(corpus, batch_size=BATCH, convert_to_numpy=True, normalize_embeddings=True)
    check_reference(exact_f)
    del st

    ensure_int8(a.model, a.ort_graph)
    fp32 = OrtEncoder(a.model, onnx_path(a.model, a.ort_graph), a.threads)
    int8 = OrtEncoder(a.model, int8_path(a.model, a.ort_graph), a.threads)

    def alone(enc):
        return lambda texts: np.stack([enc.encode([t])[0] for t in texts])

    rows = [("ONNX Runtime fp32, batches of 32", fp32.encode),
            ("ONNX Runtime int8, batches of 32", int8.encode),
            ("ONNX Runtime int8, one text at a time", alone(int8))]
    if a.int8_ops:
        ensure_int8(a.model, a.ort_graph, a.int8_ops)
        only = OrtEncoder(a.model, int8_path(a.model, a.ort_graph, a.int8_ops), a.threads)
        rows.append((f"ONNX Runtime int8 of {a.int8_ops} only, batches of 32", only.encode))
    print(f"| engine ({a.ort_graph} graph) | fixtures min cos | fixtures mean cos | corpus min cos | "
          "corpus mean cos | corpus top-10 NN agreement |")
    print("|---|---|---|---|---|---|")
    for name, enc in rows:
        print(f"fidelity_peers: {name}...", file=sys.stderr, flush=True)
        fmin, fmean = cosines(exact_f, enc(fixtures))
        approx = enc(corpus)
        cmin, cmean = cosines(exact_c, approx)
        agree = top10_agreement(exact_c, approx)
        print(f"| {name} | {fmin:.5f} | {fmean:.5f} | {cmin:.5f} | {cmean:.5f} | {agree:.4f} |", flush=True)
    print(f"\n({len(fixtures)} fixture texts, {len(corpus)} corpus lines; exact reference: sentence-transformers "
          f"{sentence_transformers.__version__} f32 (torch {torch.__version__}); ONNX Runtime "
          f"{onnxruntime.__version__}, int8 = quantize_dynamic(per_channel=True, weight_type=QInt8, "
          f"DefaultTensorType FLOAT) of the {a.ort_graph} graph)")


if __name__ == "__main__":
    main()
