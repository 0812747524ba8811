#!/usr/bin/env python3
"""Reference gradients for the two pair losses (cosine-similarity and SupCon).

Model: HF BertModel from weights/all-MiniLM-L6-v2, eval mode (dropout OFF) but with
grads enabled on every encoder parameter (encoder.layer.0..5; embeddings frozen)
-> mean pooling over tokens with attention_mask 1 -> `pooled` [N,384]
-> `emb = F.normalize(pooled, dim=1)` (eps 1e-12) [N,384].
Everything is computed in float64 (weights are the exact f32 values promoted to f64),
then stored as F32 (ids/masks/labels/pairs as I64).

Losses (each differentiated separately, grads zeroed in between):
  loss_cosine = mean_p (cos(pooled[i_p], pooled[j_p]) - t_p)^2
                (sentence-transformers CosineSimilarityLoss, identity transform, MSE;
                 t_p = 1.0 if labels equal else 0.0)
  loss_supcon = SupCon (Khosla et al. 2020) over all N sentences, tau = 0.07:
                S = emb @ emb.T / tau; P(i) = {p != i : y_p = y_i};
                log_prob_ia = S_ia - logsumexp_{a != i} S_ia;
                loss_i = -(1/|P(i)|) sum_{p in P(i)} log_prob_ip;
                loss = mean over anchors with |P(i)| > 0 of loss_i

Writes tests/fixtures/grad_pairs.safetensors:
  input_ids, attention_mask, token_type_ids   I64 [N, L]  (right padding, id 0 / mask 0)
  labels       I64 [N]
  pairs        I64 [P, 2]     (i, j) indices into the sentences
  targets      F32 [P]
  temperature  F32 [1]
  pooled       F32 [N, 384]   (mean-pooled, not normalised)
  embeddings   F32 [N, 384]   (normalised)
  loss_cosine  F32 [1], loss_supcon F32 [1]
  grad_cosine/<name>, grad_supcon/<name>   F32, <name> = model-file tensor name
              (no `bert.` prefix, e.g. encoder.layer.5.attention.self.query.weight);
              only the subset in STORED (see below) is written, the same for both losses.
The safetensors metadata holds the texts, class names, stored grad list, tau and the
loss formulas.
"""
import json
import os
import sys
from types import SimpleNamespace

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
OUT_PATH = os.path.join(ROOT, "tests", "fixtures", "grad_pairs.safetensors")
MAX_SEQ = 256
TAU = 0.07
SIZE_LIMIT = 6e6  # bytes

CLASSES = ["earn", "crude", "trade"]

# One task, 3 classes, 7 sentences of clearly different lengths (3 .. ~60 words).
SENTENCES = [
    ("Quarterly dividend raised.", "earn"),                                           # 0
    ("Saudi Arabia said it would keep crude output near its OPEC quota despite "
     "falling prices.", "crude"),                                                     # 1
    ("The trade deficit widened sharply in March as imports of consumer goods and "
     "machinery surged while exports of farm products fell, the commerce department "
     "said, adding to pressure on the government to negotiate new tariff limits with "
     "its largest trading partners before the summit.", "trade"),                     # 2
    ("The company reported net income of 4.2 mln dlrs, or 31 cts a share, for the "
     "fourth quarter, up from 3.1 mln dlrs a year earlier, on revenues that rose "
     "18 pct to 96.5 mln dlrs; for the full year it earned 15.7 mln dlrs, and the "
     "board approved a two-for-one stock split payable next month to holders of "
     "record.", "earn"),                                                              # 3
    ("Oil futures slid.", "crude"),                                                   # 4
    ("Officials warned that new import quotas on steel could spark retaliation "
     "from trading partners.", "trade"),                                              # 5
    ("Shr profit 45 cts vs 38 cts, net 8.9 mln vs 7.4 mln, revs 120 mln.", "earn"),  # 6
]

# (i, j) pairs into SENTENCES. 5 positive (one repeated: (0, 3) twice), 5 negative;
# sentence 0 appears in 4 pairs.
PAIRS = [
    (0, 3),   # earn  - earn   +
    (4, 1),   # crude - crude  +
    (0, 1),   # earn  - crude  -
    (5, 2),   # trade - trade  +
    (2, 6),   # trade - earn   -
    (0, 3),   # repeated pair  +
    (3, 4),   # earn  - crude  -
    (6, 3),   # earn  - earn   +
    (5, 0),   # trade - earn   -
    (1, 2),   # crude - trade  -
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

# Stored grads (same list for both losses). Layer 5: every bias and LayerNorm tensor
# plus query.weight and value.weight; a few tensors of layers 4 and 0.
STORED = (
    [f"encoder.layer.5.{p}" for p in LAYER_PARAMS
     if p.endswith(".bias") or "LayerNorm" in p
     or p in ("attention.self.query.weight", "attention.self.value.weight")]
    + [f"encoder.layer.4.{p}" for p in ("attention.output.dense.weight", "output.dense.bias",
                                        "intermediate.dense.bias", "output.LayerNorm.weight")]
    + [f"encoder.layer.0.{p}" for p in ("attention.self.key.weight",
                                        "attention.output.LayerNorm.bias", "output.dense.bias")]
)

LOSS_COSINE_DESC = ("loss_cosine = mean_p (cos(pooled[i_p], pooled[j_p]) - t_p)^2, t_p = 1 if "
                    "labels equal else 0 (sentence-transformers CosineSimilarityLoss, identity "
                    "transform, MSELoss); equals mean_p (emb[i_p].emb[j_p] - t_p)^2")
LOSS_SUPCON_DESC = ("loss_supcon = mean_{i: |P(i)|>0} -(1/|P(i)|) sum_{p in P(i)} "
                    "(S_ip - logsumexp_{a != i} S_ia), S = emb @ emb.T / tau, "
                    "P(i) = {p != i : y_p = y_i} (SupCon, Khosla et al. 2020)")


def layer_names(layers):
    return [f"encoder.layer.{l}.{p}" for l in layers for p in LAYER_PARAMS]


class Setup:
    def __init__(self):
        self.tok = AutoTokenizer.from_pretrained(MODEL_DIR)
        self.model = AutoModel.from_pretrained(MODEL_DIR, attn_implementation="eager",
                                               dtype=torch.float32)
        self.model.double()
        self.model.eval()  # dropout OFF
        enc = self.tok([t for t, _ in SENTENCES], padding="longest", truncation=True,
                       max_length=MAX_SEQ, return_tensors="pt")
        assert self.tok.padding_side == "right"
        self.ids, self.mask, self.tt = enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]
        self.labels = torch.tensor([CLASSES.index(c) for _, c in SENTENCES], dtype=torch.int64)
        self.pairs = torch.tensor(PAIRS, dtype=torch.int64)
        self.targets = (self.labels[self.pairs[:, 0]] == self.labels[self.pairs[:, 1]]).double()
        self.params = dict(self.model.named_parameters())
        trainable = set(layer_names(range(6)))
        for n, p in self.params.items():
            p.requires_grad_(n in trainable)

    def zero_grads(self):
        for p in self.params.values():
            p.grad = None

    def forward(self):
        h = self.model(input_ids=self.ids, attention_mask=self.mask,
                       token_type_ids=self.tt).last_hidden_state
        m = self.mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        emb = F.normalize(pooled, dim=1, eps=1e-12)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        cos = torch.cosine_similarity(pooled[i], pooled[j], dim=-1)
        loss_cosine = ((cos - self.targets) ** 2).mean()
        loss_supcon = supcon(emb, self.labels, TAU)
        return {"pooled": pooled, "emb": emb, "cos": cos,
                "loss_cosine": loss_cosine, "loss_supcon": loss_supcon}


def supcon(emb, labels, tau):
    n = emb.shape[0]
    s = emb @ emb.T / tau
    eye = torch.eye(n, dtype=torch.bool)
    s_excl = s.masked_fill(eye, float("-inf"))          # denominator over a != i
    log_prob = s - torch.logsumexp(s_excl, dim=1, keepdim=True)
    pos = (labels.unsqueeze(0) == labels.unsqueeze(1)) & ~eye
    npos = pos.sum(1)
    has = npos > 0
    per_anchor = -(log_prob * pos).sum(1)[has] / npos[has].to(emb.dtype)
    return per_anchor.mean()


def supcon_loop(emb, labels, tau):
    """Independent, loop-based SupCon (for a cross-check)."""
    n = emb.shape[0]
    total, count = 0.0, 0
    for a in range(n):
        sims = [float(emb[a] @ emb[b]) / tau for b in range(n) if b != a]
        mx = max(sims)
        lse = mx + np.log(sum(np.exp(x - mx) for x in sims))
        ps = [p for p in range(n) if p != a and labels[p] == labels[a]]
        if not ps:
            continue
        total += -sum(float(emb[a] @ emb[p]) / tau - lse for p in ps) / len(ps)
        count += 1
    return total / count


def grads_for(s, key):
    s.zero_grads()
    out = s.forward()
    out[key].backward()
    g = {n: s.params[n].grad.detach().clone() for n in layer_names(range(6))}
    s.zero_grads()
    return out, g


def fd_check(s, key, grads, names, eps=1e-5):
    """Central finite differences in float64 for a few entries per tensor."""
    worst = 0.0
    with torch.no_grad():
        for n in names:
            flat = grads[n].reshape(-1)
            picks = [int(flat.abs().argmax()), (7919 * (len(n) + 13)) % flat.numel()]
            tf = s.params[n].data.reshape(-1)
            for j in picks:
                orig = tf[j].item()
                tf[j] = orig + eps
                lp = s.forward()[key].item()
                tf[j] = orig - eps
                lm = s.forward()[key].item()
                tf[j] = orig
                fd = (lp - lm) / (2 * eps)
                an = flat[j].item()
                err = abs(fd - an) / max(abs(an), 1e-4)
                worst = max(worst, err)
                print(f"  fd [{key}] {n}[{j}]: analytic {an:+.10e} fd {fd:+.10e} rel.err {err:.1e}")
                assert err < 1e-5, (key, n, j, an, fd)
    print(f"  fd [{key}] worst relative error {worst:.2e}")
    return worst


def f32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def main():
    torch.manual_seed(0)
    s = Setup()
    with safe_open(os.path.join(MODEL_DIR, "model.safetensors"), "np") as f:
        file_names = set(f.keys())
    for n in layer_names(range(6)):
        assert n in file_names, n
        assert n in s.params, n
    assert len(set(STORED)) == len(STORED) and all(n in file_names for n in STORED)

    # ---- sanity of the inputs
    n_sent = len(SENTENCES)
    lens = s.mask.sum(1).tolist()
    words = [len(t.split()) for t, _ in SENTENCES]
    print(f"N = {n_sent}, ids shape {tuple(s.ids.shape)}, real lengths {lens}, words {words}")
    assert len(set(lens)) == len(lens), "lengths should differ"
    assert min(words) <= 3 and max(words) >= 50
    counts = np.bincount(s.labels.numpy(), minlength=len(CLASSES))
    assert (counts >= 2).all(), counts
    assert len(PAIRS) == 10 and all(i != j for i, j in PAIRS)
    npos = int(s.targets.sum())
    assert npos >= 4 and len(PAIRS) - npos >= 4, npos
    assert len(set(PAIRS)) < len(PAIRS), "one pair should repeat"
    assert max(sum(k in p for p in PAIRS) for k in range(n_sent)) >= 3
    print(f"P = {len(PAIRS)} pairs, {npos} positive; targets {s.targets.tolist()}")

    # ---- gradients, one loss at a time
    out_c, g_c = grads_for(s, "loss_cosine")
    out_s, g_s = grads_for(s, "loss_supcon")
    loss_c = out_c["loss_cosine"].item()
    loss_s = out_s["loss_supcon"].item()

    # ---- cross-checks of the loss values
    with torch.no_grad():
        emb, pooled = out_c["emb"], out_c["pooled"]
        i, j = s.pairs[:, 0], s.pairs[:, 1]
        dots = (emb[i] * emb[j]).sum(1)
        loss_c_dot = ((dots - s.targets) ** 2).mean().item()
        print(f"loss_cosine (cos on pooled) {loss_c!r}, (normalise-then-dot) {loss_c_dot!r}, "
              f"diff {abs(loss_c - loss_c_dot):.2e}")
        assert abs(loss_c - loss_c_dot) <= 1e-12
        # sentence-transformers' own CosineSimilarityLoss.compute_loss_from_embeddings
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
        shim = SimpleNamespace(loss_fct=torch.nn.MSELoss(),
                               cos_score_transformation=torch.nn.Identity())
        loss_c_st = CosineSimilarityLoss.compute_loss_from_embeddings(
            shim, [pooled[i], pooled[j]], s.targets).item()
        print(f"loss_cosine via sentence-transformers {loss_c_st!r}")
        assert abs(loss_c - loss_c_st) <= 1e-14
        loss_s_loop = float(supcon_loop(emb.numpy(), s.labels.tolist(), TAU))
        print(f"loss_supcon {loss_s!r}, loop {loss_s_loop!r}")
        assert abs(loss_s - loss_s_loop) <= 1e-12
        assert torch.equal(out_c["emb"], out_s["emb"])

    # ---- finite-difference spot checks (float64)
    fd_names = ["encoder.layer.5.attention.self.query.weight",
                "encoder.layer.5.output.LayerNorm.weight",
                "encoder.layer.5.intermediate.dense.bias",
                "encoder.layer.4.attention.output.dense.weight",
                "encoder.layer.0.attention.self.key.weight",
                "encoder.layer.0.output.dense.bias"]
    fd_c = fd_check(s, "loss_cosine", g_c, fd_names)
    fd_s = fd_check(s, "loss_supcon", g_s, fd_names)

    # ---- write
    tensors = {
        "input_ids": s.ids.numpy().astype(np.int64),
        "attention_mask": s.mask.numpy().astype(np.int64),
        "token_type_ids": s.tt.numpy().astype(np.int64),
        "labels": s.labels.numpy().astype(np.int64),
        "pairs": s.pairs.numpy().astype(np.int64),
        "targets": f32(s.targets),
        "temperature": np.array([TAU], dtype=np.float32),
        "pooled": f32(out_c["pooled"]),
        "embeddings": f32(out_c["emb"]),
        "loss_cosine": np.array([loss_c], dtype=np.float32),
        "loss_supcon": np.array([loss_s], dtype=np.float32),
    }
    for n in STORED:
        tensors[f"grad_cosine/{n}"] = f32(g_c[n])
        tensors[f"grad_supcon/{n}"] = f32(g_s[n])
    meta = {
        "texts": json.dumps([t for t, _ in SENTENCES], ensure_ascii=False),
        "classes": json.dumps(CLASSES),
        "stored_grads": json.dumps(STORED),
        "temperature": repr(TAU),
        "loss_cosine": LOSS_COSINE_DESC,
        "loss_supcon": LOSS_SUPCON_DESC,
        "loss_cosine_f64": repr(loss_c),
        "loss_supcon_f64": repr(loss_s),
        "cos_f64": json.dumps([float(x) for x in out_c["cos"].detach()]),
        "model": "HF BertModel, eval mode (no dropout), eager attention, float64 compute, "
                 "stored f32; grads enabled on encoder.layer.0..5 (embeddings frozen)",
        "pooling": "pooled = mean over attention_mask==1 tokens; embeddings = F.normalize(pooled, dim=1, eps=1e-12)",
        "fd_check_worst_rel_err": f"{max(fd_c, fd_s):.2e}",
        "generator": "tests/reference/make_pair_grad_fixture.py",
    }
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    save_file(tensors, OUT_PATH, metadata=meta)
    size = os.path.getsize(OUT_PATH)
    print(f"wrote {OUT_PATH} ({size/1e6:.2f} MB, {len(tensors)} tensors, "
          f"{2 * len(STORED)} grads)")
    assert size <= SIZE_LIMIT, size

    print(f"loss_cosine = {loss_c!r}")
    print(f"loss_supcon = {loss_s!r}")
    for key, g in (("cosine", g_c), ("supcon", g_s)):
        all_max = max(float(g[n].abs().max()) for n in g)
        st_max, st_arg = max((float(g[n].abs().max()), n) for n in STORED)
        print(f"max |grad_{key}|: all encoder params {all_max:.6e}; stored {st_max:.6e} ({st_arg})")


if __name__ == "__main__":
    sys.exit(main())
