"""PyTorch peer for `deno task bench detectors`.

Trains and scores PyTorch versions of nadir's neural detectors on the same
matrices, with the same architecture, batch size, epochs, validation split and
optimiser settings, so the bench can print peer time / nadir time from one run:

- ``autoencoder``: dense [F, *layers, F], hidden activation, linear output, MSE,
  Adam; a validation pass per epoch with best-weight bookkeeping (as nadir's
  epoch loop does); score = reconstruction MSE per row.
- ``lstm``: encoder ``nn.LSTM`` over windows of W consecutive rows (earlier
  slots zero-padded and masked), decoder ``nn.LSTM`` fed the encoder's final h
  at every step, a linear output per step, masked MSE, Adam, grad-norm clip 5;
  score = error of the window's last step (or the mean over its real steps).
- ``flow-lm``: a causal pre-norm transformer over the tokenised rows (token and
  position embeddings, multi-head causal attention, GELU MLP, final LayerNorm,
  per-position output heads over each field's own vocabulary), cross-entropy,
  Adam, grad-norm clip 1; score = mean token surprisal.

Input: ``--spec FILE``, a JSON object written by bench/detectors.ts (paths of
raw little-endian float64 / int32 matrices and each model's hyperparameters).
CPU, float32. Each model is timed once per thread count in ``threads`` (via
``torch.set_num_threads``) and the best fit and best score times are kept.
Output: one JSON object per model and line:
``{"model", "fit_s", "score_s", "fit_threads", "score_threads", "runs", ...}``.
"""
import argparse
import copy
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(path, dtype, cols):
    return np.fromfile(path, dtype=dtype).reshape(-1, cols)


def split(n, val_fraction, gen):
    """Shuffled ids → (train, val) like nadir's splitIds (val ≥ 2 rows or none)."""
    ids = torch.randperm(n, generator=gen)
    n_val = int(math.floor(n * val_fraction))
    if n - n_val < 1:
        n_val = n - 1
    if n_val < 2:
        n_val = 0
    return ids[n_val:], ids[:n_val]


def epochs_loop(model, opt, train_ids, val_ids, p, gen, train_batch, val_loss, clip=0.0):
    """nadir's epoch loop: shuffle, mini-batches, validation, best-weight snapshot, early stop."""
    epochs, batch, patience = p["epochs"], p["batchSize"], p["patience"]
    chunk = p.get("valChunk", 16384)
    early = len(val_ids) > 0 and patience > 0
    best, bad, snap, done = math.inf, 0, None, 0
    params = [q for q in model.parameters() if q.requires_grad]
    for _ in range(epochs):
        model.train()
        order = train_ids[torch.randperm(len(train_ids), generator=gen)]
        total, n = 0.0, 0
        for b in range(0, len(order), batch):
            ids = order[b:b + batch]
            opt.zero_grad(set_to_none=True)
            loss = train_batch(ids)
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            total += loss.item() * len(ids)
            n += len(ids)
        train_loss = total / max(1, n)
        if not math.isfinite(train_loss):
            raise RuntimeError(f"training diverged (loss {train_loss})")
        done += 1
        crit = train_loss
        if len(val_ids):
            model.eval()
            s = 0.0
            with torch.no_grad():
                for b in range(0, len(val_ids), chunk):
                    ids = val_ids[b:b + chunk]
                    s += val_loss(ids).item() * len(ids)
            crit = s / len(val_ids)
        if not math.isfinite(best) or crit < best - 1e-7 * abs(best):
            best, bad = crit, 0
            if early:
                snap = copy.deepcopy(model.state_dict())
        elif early:
            bad += 1
            if bad >= patience:
                break
    if snap is not None:
        model.load_state_dict(snap)
    return done


def activation(name):
    return {
        "relu": nn.ReLU(),
        "tanh": nn.Tanh(),
        "sigmoid": nn.Sigmoid(),
        "elu": nn.ELU(),
        "gelu": nn.GELU(),
    }[name]


def run_autoencoder(spec, p, gen):
    d = spec["d"]
    t = time.perf_counter()
    x = torch.from_numpy(load(spec["train"], "<f8", d).astype(np.float32))
    sizes = [d, *p["layers"], d]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation(p["activation"]))
    model = nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=p["lr"])
    train_ids, val_ids = split(len(x), p["valFraction"], gen)

    def batch_loss(ids):
        xb = x[ids]
        return F.mse_loss(model(xb), xb)

    epochs = epochs_loop(model, opt, train_ids, val_ids, p, gen, batch_loss, batch_loss)
    fit = time.perf_counter() - t

    xt = torch.from_numpy(load(spec["test"], "<f8", d))
    model.eval()
    t = time.perf_counter()
    out = np.empty(len(xt))
    with torch.no_grad():
        for r in range(0, len(xt), 16384):
            xb = xt[r:r + 16384].float()
            out[r:r + len(xb)] = ((model(xb) - xb) ** 2).mean(1).double().numpy()
    score = time.perf_counter() - t
    return fit, score, out, {"train_rows": len(train_ids), "val_rows": len(val_ids), "epochs": epochs}


class LstmAE(nn.Module):
    def __init__(self, f, u, w):
        super().__init__()
        self.w = w
        self.enc = nn.LSTM(f, u, batch_first=True)
        self.dec = nn.LSTM(u, u, batch_first=True)
        self.out = nn.Linear(u, f)

    def forward(self, x):  # [B, W, F] → per-step reconstruction [B, W, F]
        _, (h, _) = self.enc(x)
        z = h[-1].unsqueeze(1).expand(-1, self.w, -1)
        d, _ = self.dec(z)
        return self.out(d)


def windows(n, w):
    """Row i's window: the w rows ending at it, oldest first; n (a zero row) pads the start."""
    k = torch.arange(w) - (w - 1)
    idx = torch.arange(n).unsqueeze(1) + k.unsqueeze(0)
    return torch.where(idx >= 0, idx, torch.full_like(idx, n))


def run_lstm(spec, p, gen):
    d, w = spec["d"], p["window"]
    t = time.perf_counter()
    x = torch.from_numpy(load(spec["train"], "<f8", d).astype(np.float32))
    xp = torch.cat([x, torch.zeros(1, d)])
    win = windows(len(x), w)
    cap = p["maxTrainWindows"]
    pool = torch.randperm(len(x), generator=gen)[:cap] if len(x) > cap else torch.arange(len(x))
    tr, va = split(len(pool), p["valFraction"], gen)
    train_ids, val_ids = pool[tr], pool[va]
    model = LstmAE(d, p["units"], w)
    opt = torch.optim.Adam(model.parameters(), lr=p["lr"])

    def errors(m, ids):
        wi = win[ids]
        xb = xp[wi]  # [B, W, F]
        mask = (wi < len(x)).float()
        return ((m(xb) - xb) ** 2).mean(2), mask

    def batch_loss(ids):
        err, mask = errors(model, ids)
        return (err * mask).sum() / mask.sum().clamp(min=1)

    epochs = epochs_loop(model, opt, train_ids, val_ids, p, gen, batch_loss, batch_loss, clip=5.0)
    fit = time.perf_counter() - t

    xt64 = torch.from_numpy(load(spec["test"], "<f8", d))
    model.eval()
    t = time.perf_counter()
    xt = torch.cat([xt64.float(), torch.zeros(1, d)])
    wt = windows(len(xt64), w)
    out = np.empty(len(xt64))
    last = p.get("windowScore", "last") == "last"
    with torch.no_grad():
        for r in range(0, len(xt64), 8192):
            wi = wt[r:r + 8192]
            xb = xt[wi]
            if last:
                e = ((model(xb)[:, -1] - xb[:, -1]) ** 2).mean(1)
            else:  # mean error over the window's real steps
                mask = (wi < len(xt64)).float()
                e = (((model(xb) - xb) ** 2).mean(2) * mask).sum(1) / mask.sum(1).clamp(min=1)
            out[r:r + len(xb)] = e.double().numpy()
    score = time.perf_counter() - t
    return fit, score, out, {"train_rows": len(train_ids), "val_rows": len(val_ids), "epochs": epochs}


class Block(nn.Module):
    def __init__(self, d, h, m):
        super().__init__()
        self.h = h
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, m)
        self.fc2 = nn.Linear(m, d)

    def forward(self, x, mask):  # x [B, T, d], mask [T, T] additive
        b, t, d = x.shape
        hd = d // self.h
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, hd).transpose(1, 2) for z in (q, k, v))  # [B, H, T, hd]
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd) + mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class FlowLm(nn.Module):
    """GPT-style LM over [BOS, f1 … f(T−1)] predicting f1 … fT; heads bucket fields by vocabulary size like nadir."""

    def __init__(self, vocab, p):
        super().__init__()
        d, T = p["width"], len(vocab)
        self.perm = sorted(range(T), key=lambda i: (vocab[i], i))
        self.buckets = []  # (start, len, K)
        for t in range(T):
            v = vocab[self.perm[t]]
            if self.buckets and v <= 2 * vocab[self.perm[self.buckets[-1][0]]]:
                s, n, _ = self.buckets[-1]
                self.buckets[-1] = (s, n + 1, v)
            else:
                self.buckets.append((t, 1, v))
        self.offsets = np.concatenate([[0], np.cumsum(vocab)[:-1]]).astype(np.int64)
        self.bos = int(sum(vocab))
        self.tok = nn.Embedding(self.bos + 1, d)
        self.pos = nn.Parameter(torch.randn(T, d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, p["heads"], d * p["mlpRatio"]) for _ in range(p["layers"])])
        self.lnf = nn.LayerNorm(d, eps=1e-5)
        self.heads_w = nn.ParameterList()
        self.heads_b = nn.ParameterList()
        masks = []
        for s, n, k in self.buckets:
            self.heads_w.append(nn.Parameter(torch.randn(n, d, k) * math.sqrt(2 / (d + k))))
            self.heads_b.append(nn.Parameter(torch.zeros(n, 1, k)))
            m = torch.zeros(n, 1, k)
            for j in range(n):
                m[j, 0, vocab[self.perm[s + j]]:] = -1e9
            masks.append(m)
        self.out_masks = masks
        ctx = p.get("context", 0)
        i = torch.arange(T).unsqueeze(1)
        j = torch.arange(T).unsqueeze(0)
        ok = (j <= i) & ((ctx == 0) | (i - j < max(ctx, 1)))
        self.register_buffer("mask", torch.where(ok, 0.0, -1e9))

    def prepare(self, tokens):
        """Field-order local tokens [N, T] → model inputs [N, T] (global ids, BOS first) and targets [N, T]."""
        seq = tokens[:, self.perm].astype(np.int64)
        inp = np.empty_like(seq)
        inp[:, 0] = self.bos
        inp[:, 1:] = seq[:, :-1] + self.offsets[self.perm][:-1]
        return torch.from_numpy(inp), torch.from_numpy(seq)

    def nll(self, inp, tgt):  # → [B, T] surprisal in sequence order
        x = self.tok(inp) + self.pos
        for blk in self.blocks:
            x = blk(x, self.mask)
        x = self.lnf(x).transpose(0, 1)  # [T, B, d]
        parts = []
        for (s, n, k), w, b, m in zip(self.buckets, self.heads_w, self.heads_b, self.out_masks):
            logp = torch.log_softmax(torch.bmm(x[s:s + n], w) + b + m, dim=-1)  # [n, B, K]
            parts.append(-logp.gather(2, tgt[:, s:s + n].t().unsqueeze(2)).squeeze(2))
        return torch.cat(parts, 0).t()


def run_flow_lm(spec, p, gen):
    vocab = p["vocab"]
    T = len(vocab)
    t = time.perf_counter()
    tokens = load(spec["lmTrain"], "<i4", T)
    model = FlowLm(vocab, p)
    inp, tgt = model.prepare(tokens)
    opt = torch.optim.Adam(model.parameters(), lr=p["lr"])
    train_ids, val_ids = split(len(tokens), p["valFraction"], gen)

    def batch_loss(ids):
        return model.nll(inp[ids], tgt[ids]).mean()

    epochs = epochs_loop(model, opt, train_ids, val_ids, {**p, "valChunk": 4096}, gen, batch_loss, batch_loss,
                         clip=1.0)
    fit = time.perf_counter() - t

    test = load(spec["lmTest"], "<i4", T)
    model.eval()
    t = time.perf_counter()
    ti, tt = model.prepare(test)
    out = np.empty(len(test))
    with torch.no_grad():
        for r in range(0, len(test), 4096):
            out[r:r + 4096] = model.nll(ti[r:r + 4096], tt[r:r + 4096]).mean(1).double().numpy()
    score = time.perf_counter() - t
    return fit, score, out, {"train_rows": len(train_ids), "val_rows": len(val_ids), "epochs": epochs}


RUNNERS = {"autoencoder": run_autoencoder, "lstm": run_lstm, "flow-lm": run_flow_lm}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    spec = json.load(open(ap.parse_args().spec))
    torch.set_num_interop_threads(1)
    for name, p in spec["models"].items():
        runs = []
        extra = {}
        for threads in spec["threads"]:
            torch.set_num_threads(threads)
            torch.manual_seed(spec.get("seed", 0))
            gen = torch.Generator().manual_seed(spec.get("seed", 0))
            try:
                fit, score, s, extra = RUNNERS[name](spec, p, gen)
            except Exception as e:  # report and go on with the other models
                print(json.dumps({"model": name, "error": f"{type(e).__name__}: {e}"}), flush=True)
                break
            runs.append({"threads": threads, "fit_s": fit, "score_s": score, "checksum": float(np.sum(s))})
            print(f"torch {name} threads={threads}: fit {fit:.2f} s, score {score:.2f} s", file=sys.stderr, flush=True)
        if len(runs) != len(spec["threads"]):
            continue
        bf = min(runs, key=lambda r: r["fit_s"])
        bs = min(runs, key=lambda r: r["score_s"])
        print(json.dumps({
            "model": name,
            "fit_s": bf["fit_s"],
            "score_s": bs["score_s"],
            "fit_threads": bf["threads"],
            "score_threads": bs["threads"],
            "rows": spec["testRows"],
            "runs": runs,
            **extra,
        }), flush=True)


if __name__ == "__main__":
    main()
