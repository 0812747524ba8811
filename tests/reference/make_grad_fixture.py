#!/usr/bin/env python3
"""Reference gradients for the multi-task trainer (encoder + two linear heads).

Model: HF BertModel from weights/all-MiniLM-L6-v2, eval mode (dropout OFF) but with
grads enabled -> mean pooling over tokens with attention_mask 1 (NOT normalised)
-> head_a (8 topic classes) / head_b (2 sentiment classes) -> logits.
loss = CE_A + CE_B, each the mean cross-entropy over its batch.
Everything is computed in float64 (weights and heads are the exact f32 values
promoted to f64), then stored as F32 (ids/masks/labels as I64).

Writes (same tensor format in every file):
  tests/fixtures/grad_last2.safetensors        plan `last2`: grads of encoder.layer.4/5
                                               (32 tensors) + 4 head tensors
  tests/fixtures/grad_all_subset.safetensors   plan `all` (all 6 encoder layers + heads
                                               trainable), but only the grads of
                                               encoder.layer.0, encoder.layer.5 and the
                                               heads are STORED (the full file would be
                                               ~43 MB). A consumer must check only the
                                               grad/* tensors present in the file.
Tensors:
  input_ids_a, attention_mask_a, token_type_ids_a   I64 [Ba, La]  (right padding, id 0 / mask 0)
  labels_a                                          I64 [Ba]
  input_ids_b, attention_mask_b, token_type_ids_b   I64 [Bb, Lb]
  labels_b                                          I64 [Bb]
  head_a.weight F32 [8,384], head_a.bias F32 [8], head_b.weight F32 [2,384], head_b.bias F32 [2]
  loss      F32 [1]
  logits_a  F32 [Ba,8], logits_b F32 [Bb,2], pooled_a F32 [Ba,384], pooled_b F32 [Bb,384]
  grad/<name> F32, <name> = model-file tensor name (e.g. encoder.layer.4.attention.self.query.weight)
                   or head_a.weight / head_a.bias / head_b.weight / head_b.bias
The safetensors metadata holds the texts, class names, plan and the stored grad list.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from st_write import save_file_sorted as save_file
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "weights", "all-MiniLM-L6-v2")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")
MAX_SEQ = 256
HEAD_SEED = 1234
HEAD_SCALE = 5.0
SIZE_LIMIT = 10e6  # bytes; above this the `all` fixture keeps only a subset of grads

CLASSES_A = ["earn", "acq", "crude", "trade", "money-fx", "interest", "ship", "grain"]
CLASSES_B = ["negative", "positive"]

# Four sentences per task with clearly different lengths (padding is exercised).
TASK_A = [
    ("Net profit rose to 12.4 mln dlrs.", "earn"),
    ("The company said it agreed to acquire all outstanding shares of its smaller rival "
     "for about 350 mln dlrs in cash, subject to regulatory approval.", "acq"),
    ("Crude oil prices jumped.", "crude"),
    ("Shipping traffic through the port was halted for a third day on Wednesday as striking "
     "dock workers blocked access to the main container terminal, and port officials said "
     "dozens of vessels carrying grain, fertiliser and crude were waiting at anchor outside "
     "the harbour while talks continued.", "ship"),
]
TASK_B = [
    ("Great!", "positive"),
    ("The plot was predictable and the acting was wooden; I left halfway through.", "negative"),
    ("I was not expecting much, but this turned out to be one of the most moving and "
     "beautifully shot films I have seen in years, with a superb cast and a score that "
     "stayed with me for days.", "positive"),
    ("Disappointing and far too long.", "negative"),
]

LAYER_PARAMS = [
    "attention.self.query.weight", "attention.self.query.bias",
    "attention.self.key.weight", "attention.self.key.bias",
    "attention.self.value.weight", "attention.self.value.bias",
    "attention.output.dense.weight", "attention.output.dense.bias",
    "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
    "intermediate.dense.weight", "intermediate.dense.bias",
    "output.dense.weight", "output.dense.bias",
    "output.LayerNorm.weight", "output.LayerNorm.bias",
]
HEAD_PARAMS = ["head_a.weight", "head_a.bias", "head_b.weight", "head_b.bias"]


def layer_names(layers):
    return [f"encoder.layer.{l}.{p}" for l in layers for p in LAYER_PARAMS]


def tokenize(tok, texts):
    enc = tok(texts, padding="longest", truncation=True, max_length=MAX_SEQ,
              return_tensors="pt")
    assert tok.padding_side == "right"
    return enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]


def make_heads():
    torch.manual_seed(HEAD_SEED)
    ha = torch.nn.Linear(384, len(CLASSES_A))   # kaiming-uniform like nn.Linear
    hb = torch.nn.Linear(384, len(CLASSES_B))
    with torch.no_grad():
        for h in (ha, hb):
            h.weight.mul_(HEAD_SCALE)
            h.bias.mul_(HEAD_SCALE)
    return {
        "head_a.weight": ha.weight.detach().clone(),
        "head_a.bias": ha.bias.detach().clone(),
        "head_b.weight": hb.weight.detach().clone(),
        "head_b.bias": hb.bias.detach().clone(),
    }


class Setup:
    def __init__(self):
        self.tok = AutoTokenizer.from_pretrained(MODEL_DIR)
        self.model = AutoModel.from_pretrained(MODEL_DIR, attn_implementation="eager",
                                               dtype=torch.float32)
        self.model.double()
        self.model.eval()  # dropout OFF
        self.heads32 = make_heads()
        self.heads = {k: v.double().requires_grad_(True) for k, v in self.heads32.items()}
        self.a = tokenize(self.tok, [t for t, _ in TASK_A])
        self.b = tokenize(self.tok, [t for t, _ in TASK_B])
        self.labels_a = torch.tensor([CLASSES_A.index(c) for _, c in TASK_A], dtype=torch.int64)
        self.labels_b = torch.tensor([CLASSES_B.index(c) for _, c in TASK_B], dtype=torch.int64)
        self.params = dict(self.model.named_parameters())

    def set_plan(self, trainable):
        for n, p in self.params.items():
            p.requires_grad_(n in trainable)
            p.grad = None
        for h in self.heads.values():
            h.grad = None

    def forward(self):
        out = {}
        for task, (ids, mask, tt), head in (("a", self.a, "head_a"), ("b", self.b, "head_b")):
            h = self.model(input_ids=ids, attention_mask=mask, token_type_ids=tt).last_hidden_state
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            logits = pooled @ self.heads[f"{head}.weight"].T + self.heads[f"{head}.bias"]
            out[f"pooled_{task}"] = pooled
            out[f"logits_{task}"] = logits
        out["ce_a"] = F.cross_entropy(out["logits_a"], self.labels_a)
        out["ce_b"] = F.cross_entropy(out["logits_b"], self.labels_b)
        out["loss"] = out["ce_a"] + out["ce_b"]
        return out

    def tensor(self, name):
        return self.heads[name] if name in self.heads else self.params[name]


def run_plan(s, plan_layers, label):
    trainable = set(layer_names(plan_layers))
    s.set_plan(trainable)
    out = s.forward()
    out["loss"].backward()
    names = layer_names(plan_layers) + HEAD_PARAMS
    grads = {n: s.tensor(n).grad.detach().clone() for n in names}
    print(f"[{label}] loss = {out['loss'].item():.12f} (CE_A {out['ce_a'].item():.6f}, "
          f"CE_B {out['ce_b'].item():.6f}); {len(grads)} grad tensors")
    return out, grads


def fd_check(s, grads, names, label, eps=1e-5):
    """Central finite differences in float64 for a few entries per tensor."""
    torch.set_grad_enabled(False)
    worst = 0.0
    for n in names:
        g = grads[n]
        flat = g.reshape(-1)
        picks = [int(flat.abs().argmax()), (7919 * (len(n) + 13)) % flat.numel()]
        t = s.tensor(n)
        for j in picks:
            tf = t.data.reshape(-1)
            orig = tf[j].item()
            tf[j] = orig + eps
            lp = s.forward()["loss"].item()
            tf[j] = orig - eps
            lm = s.forward()["loss"].item()
            tf[j] = orig
            fd = (lp - lm) / (2 * eps)
            an = flat[j].item()
            err = abs(fd - an) / max(abs(an), 1e-4)
            worst = max(worst, err)
            print(f"  fd [{label}] {n}[{j}]: analytic {an:+.10e} fd {fd:+.10e} rel.err {err:.1e}")
            assert err < 1e-5, (n, j, an, fd)
    torch.set_grad_enabled(True)
    print(f"  fd [{label}] worst relative error {worst:.2e}")
    return worst


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def save_fixture(path, s, out, grads, stored_names, plan, fd_worst):
    tensors = {
        "input_ids_a": s.a[0].numpy(), "attention_mask_a": s.a[1].numpy(),
        "token_type_ids_a": s.a[2].numpy(), "labels_a": s.labels_a.numpy(),
        "input_ids_b": s.b[0].numpy(), "attention_mask_b": s.b[1].numpy(),
        "token_type_ids_b": s.b[2].numpy(), "labels_b": s.labels_b.numpy(),
        "loss": np.array([out["loss"].item()], dtype=np.float32),
        "logits_a": f32(out["logits_a"]), "logits_b": f32(out["logits_b"]),
        "pooled_a": f32(out["pooled_a"]), "pooled_b": f32(out["pooled_b"]),
    }
    for k in ("input_ids_a", "attention_mask_a", "token_type_ids_a", "labels_a",
              "input_ids_b", "attention_mask_b", "token_type_ids_b", "labels_b"):
        tensors[k] = tensors[k].astype(np.int64)
    for k, v in s.heads32.items():
        tensors[k] = v.numpy().astype(np.float32)
    for n in stored_names:
        tensors[f"grad/{n}"] = f32(grads[n])
    meta = {
        "plan": plan,
        "loss": "CE_A(mean) + CE_B(mean); eval mode (no dropout); float64 compute, stored f32",
        "pooling": "mean over attention_mask==1 tokens, not normalised",
        "classes_a": json.dumps(CLASSES_A),
        "classes_b": json.dumps(CLASSES_B),
        "texts_a": json.dumps([t for t, _ in TASK_A], ensure_ascii=False),
        "texts_b": json.dumps([t for t, _ in TASK_B], ensure_ascii=False),
        "head_init": f"torch.manual_seed({HEAD_SEED}); nn.Linear(384,8), nn.Linear(384,2); weight and bias x{HEAD_SCALE}",
        "loss_f64": repr(out["loss"].item()),
        "stored_grads": json.dumps(stored_names),
        "fd_check_worst_rel_err": f"{fd_worst:.2e}",
        "generator": "tests/reference/make_grad_fixture.py",
    }
    save_file(tensors, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)/1e6:.2f} MB, {len(tensors)} tensors)")


def main():
    torch.manual_seed(0)
    s = Setup()
    with safe_open(os.path.join(MODEL_DIR, "model.safetensors"), "np") as f:
        file_names = set(f.keys())
    for n in layer_names(range(6)):
        assert n in file_names, n
        assert n in s.params, n

    for task, (ids, mask, _) in (("a", s.a), ("b", s.b)):
        lens = mask.sum(1).tolist()
        print(f"task {task}: shape {tuple(ids.shape)}, real lengths {lens}")
        assert len(set(lens)) == len(lens), "lengths should differ"

    # ---- plan last2
    out2, g2 = run_plan(s, [4, 5], "last2")
    names2 = layer_names([4, 5]) + HEAD_PARAMS
    assert len(names2) == 36
    for n in names2:
        print(f"  |grad {n}| = {g2[n].norm().item():.6e}  shape {list(g2[n].shape)}")
    fd_names = ["head_a.weight", "head_b.bias",
                "encoder.layer.5.output.dense.weight",
                "encoder.layer.5.output.LayerNorm.weight",
                "encoder.layer.4.attention.self.query.weight",
                "encoder.layer.4.attention.self.key.bias",
                "encoder.layer.4.intermediate.dense.weight"]
    fd2 = fd_check(s, g2, fd_names, "last2")
    s.set_plan(set(layer_names([4, 5])))

    # ---- plan all (encoder layers 0..5 + heads; embeddings stay frozen)
    out_all, g_all = run_plan(s, range(6), "all")
    names_all = layer_names(range(6)) + HEAD_PARAMS
    assert len(names_all) == 100
    for n in layer_names([0, 1, 2, 3]):
        print(f"  |grad {n}| = {g_all[n].norm().item():.6e}")
    same = max(float((g_all[n] - g2[n]).abs().max()) for n in names2)
    print(f"  max |grad_all - grad_last2| over shared tensors = {same:.2e}")
    assert same < 1e-12
    assert abs(out_all["loss"].item() - out2["loss"].item()) < 1e-14
    fd_all = fd_check(s, g_all, ["encoder.layer.0.attention.self.value.weight",
                                 "encoder.layer.0.output.dense.bias",
                                 "encoder.layer.2.attention.output.LayerNorm.bias"], "all")

    os.makedirs(OUT_DIR, exist_ok=True)
    save_fixture(os.path.join(OUT_DIR, "grad_last2.safetensors"), s, out2, g2, names2,
                 "last2", fd2)

    full_bytes = sum(g_all[n].numel() * 4 for n in names_all)
    if full_bytes <= SIZE_LIMIT:
        stored, fname, plan = names_all, "grad_all.safetensors", "all"
    else:
        stored = layer_names([0, 5]) + HEAD_PARAMS
        fname, plan = "grad_all_subset.safetensors", "all"
        print(f"plan all: full grads would be {full_bytes/1e6:.1f} MB > {SIZE_LIMIT/1e6:.0f} MB; "
              f"storing layers 0 and 5 + heads only ({len(stored)} tensors)")
    save_fixture(os.path.join(OUT_DIR, fname), s, out_all, g_all, stored, plan,
                 max(fd2, fd_all))

    for task in ("a", "b"):
        print(f"logits_{task} =\n{out2[f'logits_{task}'].detach().numpy()}")


if __name__ == "__main__":
    sys.exit(main())
