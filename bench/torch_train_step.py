"""The training step of bench/trainingCase.ts in PyTorch, as a CPU baseline for the tfjs trainer.

Same math as src/model/forward.ts: RMSNorm, RoPE in llama.cpp's NORM mode (adjacent pairs), causal
grouped-query attention (query head h reads KV head h // (H/KV)), SwiGLU, tied output head; loss on the
scored positions only (only they go through the head), AdamW with global-norm clipping at 1.
Usage: python3 torch_train_step.py '<case JSON>' <threads>   → prints one JSON line.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

case = json.loads(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))
hp = case["hp"]
d, L, H, KV = hp["embeddingLength"], hp["blockCount"], hp["headCount"], hp["headCountKv"]
V, Ff, hd, eps = hp["vocabSize"], hp["feedForwardLength"], hp["headDim"], hp["rmsEpsilon"]
B, T, full = case["batchSize"], case["seqLen"], case["mode"] == "full"
rank, scale, adapted = case["loraRank"], case["loraAlpha"] / case["loraRank"], set(case["loraTargets"])
torch.manual_seed(0)


def weight(*shape, std=0.02, ones=False):
    t = torch.ones(shape) if ones else torch.randn(shape) * std
    return t.requires_grad_(full)


emb = weight(V, d)
params = [emb] if full else []
blocks = []
shapes = dict(q=(d, H * hd), k=(d, KV * hd), v=(d, KV * hd), o=(H * hd, d), gate=(d, Ff), up=(d, Ff), down=(Ff, d))
for _ in range(L):
    blk = dict(attn_norm=weight(d, ones=True), ffn_norm=weight(d, ones=True))
    for name, (i, o) in shapes.items():
        blk[name] = weight(i, o)
        if not full and name in adapted:
            bound = 1 / math.sqrt(i)
            blk["a_" + name] = torch.empty(i, rank).uniform_(-bound, bound).requires_grad_()
            blk["b_" + name] = torch.zeros(rank, o).requires_grad_()
    params += [p for p in blk.values() if p.requires_grad]
    blocks.append(blk)
out_norm = weight(d, ones=True)
if full:
    params.append(out_norm)

half = hd // 2
theta = torch.arange(T, dtype=torch.float64)[:, None] * hp["ropeFreqBase"] ** (-2 * torch.arange(half, dtype=torch.float64) / hd)
cos = theta.cos().float().repeat_interleave(2, -1)[None, :, None, :]  # [1, T, 1, hd], pairs share an angle
sin = theta.sin().float().repeat_interleave(2, -1)[None, :, None, :]
causal = torch.full((T, T), -1e9).triu(1)


def rope(x):  # [B, T, heads, hd]; (x0, x1) → (x0·cos − x1·sin, x1·cos + x0·sin) per adjacent pair
    pairs = x.unflatten(-1, (half, 2))
    rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), -1).flatten(-2)
    return x * cos + rotated * sin


def rms_norm(x, g):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def linear(x, blk, name):
    y = x @ blk[name]
    if "a_" + name in blk:
        y = y + (x @ blk["a_" + name]) @ blk["b_" + name] * scale
    return y


def loss_fn(inputs, scored_rows, scored_targets):
    x = F.embedding(inputs.reshape(-1), emb)
    for blk in blocks:
        h = rms_norm(x, blk["attn_norm"])
        q = rope(linear(h, blk, "q").view(B, T, H, hd)).transpose(1, 2)
        k = rope(linear(h, blk, "k").view(B, T, KV, hd)).transpose(1, 2).repeat_interleave(H // KV, 1)
        v = linear(h, blk, "v").view(B, T, KV, hd).transpose(1, 2).repeat_interleave(H // KV, 1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + causal
        x = x + linear((scores.softmax(-1) @ v).transpose(1, 2).reshape(B * T, H * hd), blk, "o")
        h = rms_norm(x, blk["ffn_norm"])
        x = x + linear(F.silu(linear(h, blk, "gate")) * linear(h, blk, "up"), blk, "down")
    hidden = rms_norm(x, out_norm).index_select(0, scored_rows)
    return F.cross_entropy(hidden @ emb.t(), scored_targets)


inputs = torch.tensor(case["inputs"]).view(B, T)
mask = torch.tensor(case["lossMask"]) > 0
scored_rows = mask.nonzero().squeeze(1)
scored_targets = torch.tensor(case["targets"])[mask]
optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.0)
times, losses = [], []
for _ in range(case["steps"] + 1):
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(inputs, scored_rows, scored_targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimizer.step()
    losses.append(loss.item())
    times.append(time.perf_counter() - start)
timed = sorted(times[1:])
ms = timed[len(timed) // 2] * 1000
print(json.dumps({"engine": f"torch {torch.__version__} ({torch.get_num_threads()} threads)", "tokensPerSecond": B * T * 1000 / ms,
                  "bestTokensPerSecond": B * T / timed[0],
                  "msPerStep": ms, "firstLoss": losses[0], "lastLoss": losses[-1]}))
