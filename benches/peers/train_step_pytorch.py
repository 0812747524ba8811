#!/usr/bin/env python3
"""Training-step time of the original PyTorch multi-task recipe, as the
reference for minilm's trainer on the same machine.

    benches/peers/.venv/bin/python benches/peers/train_step_pytorch.py [--threads 2] [--steps 20]

The recipe: all-MiniLM-L6-v2 loaded as transformers' BertModel, mean pooling
over the attention mask, two linear heads on the 384-d pooled vector (task A:
8 topic classes, task B: 2 sentiment classes). Embeddings and layers 0-3 are
frozen (requires_grad=False); layers 4-5 and both heads train, with AdamW
(lr 2e-5, weight decay 0.01). Model in train() mode (dropout on).

One step = one batch of 16 sentences per task (each batch tokenized with
padding to its longest text, truncation at 256), two forward passes through
the shared encoder, loss = CE_A + CE_B, backward, optimizer step, zero_grad.
Sentences are drawn at random (fixed seed) from benches/corpus/corpus.jsonl,
so lengths are realistic (mean ~30 word pieces, long tail); labels are random.

Batches are tokenized before the clock starts (a DataLoader would do that
ahead of the step); the tokenization time per step is reported separately.
After --warmup steps, --steps steps are timed; the median is reported.

Offline only: HF_HUB_OFFLINE=1, the model is read from the local folder.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import random
import resource
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.environ.get("MINILM_MODEL", os.path.join(ROOT, "weights", "all-MiniLM-L6-v2"))
DEFAULT_CORPUS = os.path.join(ROOT, "benches", "corpus", "corpus.jsonl")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16, help="sentences per task per step")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    import torch
    import transformers
    from transformers import AutoTokenizer, BertModel

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)

    with open(a.corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]

    tok = AutoTokenizer.from_pretrained(a.model, local_files_only=True)
    encoder = BertModel.from_pretrained(a.model, local_files_only=True, add_pooling_layer=False)
    hidden = encoder.config.hidden_size
    head_a = torch.nn.Linear(hidden, 8)
    head_b = torch.nn.Linear(hidden, 2)

    for p in encoder.parameters():
        p.requires_grad = False
    for layer in encoder.encoder.layer[4:]:
        for p in layer.parameters():
            p.requires_grad = True
    trainable = [p for p in encoder.parameters() if p.requires_grad] + list(head_a.parameters()) + list(
        head_b.parameters())
    opt = torch.optim.AdamW(trainable, lr=2e-5, weight_decay=0.01)
    encoder.train()
    head_a.train()
    head_b.train()

    def mean_pool(out, mask):
        m = mask.unsqueeze(-1).to(out.dtype)
        return (out * m).sum(1) / m.sum(1).clamp(min=1e-9)

    def make_batch():
        b = tok(rng.sample(texts, a.batch), padding=True, truncation=True, max_length=256, return_tensors="pt")
        return b

    n_steps = a.warmup + a.steps
    t = time.perf_counter()
    batches = [(make_batch(), torch.randint(0, 8, (a.batch,)), make_batch(), torch.randint(0, 2, (a.batch,)))
               for _ in range(n_steps)]
    tok_ms = (time.perf_counter() - t) * 1e3 / n_steps
    ce = torch.nn.CrossEntropyLoss()

    times, real_tokens, padded_tokens = [], [], []
    for step, (ba, ya, bb, yb) in enumerate(batches):
        t = time.perf_counter()
        pa = mean_pool(encoder(**ba).last_hidden_state, ba["attention_mask"])
        pb = mean_pool(encoder(**bb).last_hidden_state, bb["attention_mask"])
        loss = ce(head_a(pa), ya) + ce(head_b(pb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t
        if step >= a.warmup:
            times.append(dt)
            real_tokens.append(int(ba["attention_mask"].sum() + bb["attention_mask"].sum()))
            padded_tokens.append(ba["input_ids"].numel() + bb["input_ids"].numel())

    med = statistics.median(times)
    ex = 2 * a.batch
    print(f"PyTorch training step (torch {torch.__version__}, transformers {transformers.__version__}), "
          f"{a.threads} thread(s): {a.steps} steps after {a.warmup} warm-up, {a.batch} sentences per task per step")
    print()
    print("| threads | step median (ms) | step min (ms) | step max (ms) | examples/s (median) | "
          "real word pieces/step (mean) | padded positions/step (mean) | tokenization (ms/step, excluded) | "
          "peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {a.threads} | {med * 1e3:.1f} | {min(times) * 1e3:.1f} | {max(times) * 1e3:.1f} | {ex / med:.1f} | "
          f"{statistics.mean(real_tokens):.0f} | {statistics.mean(padded_tokens):.0f} | {tok_ms:.1f} | "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} |")
    print(f"RESULT {json.dumps({'threads': a.threads, 'median_ms': med * 1e3, 'examples_per_s': ex / med})}")


if __name__ == "__main__":
    main()
