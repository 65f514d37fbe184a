"""PyTorch side of the GPT benchmark: the character GPT of bench_gpt.c.

    python3 bench_gpt_torch.py gpt_train|gpt_generate|gpt768_train [SECONDS]

Token + learned position embedding, pre-LN blocks (LayerNorm -> causal
multi-head attention -> residual add, LayerNorm -> Linear 4d GELU -> Linear
d -> residual add), final LayerNorm, Linear over a 65-token vocabulary,
context 128. gpt_train and gpt_generate: d 128, 4 blocks of 4 heads, batch
16; gpt768_train: d 768, 12 blocks of 12 heads (GPT-2 small's shape), batch
4. Weights are drawn as libbigmodel draws them (keras_init). Training: AdamW
(1e-3), cross-entropy over every position, one batch of random ids.
Generation: batch 1, a 32-token prompt, then 256 tokens one at a time, each
step running only the new position against a key/value cache the blocks
keep (greedy, so both sides do the same work; past the context of 128 both
restart the window on its newest 96 tokens, as bgm_decoder does). PyTorch
1.13 has no fused attention, so attention is written with matmuls and a
softmax, as minGPT does. Prints the same BENCH line as bench_gpt (its params
field lets the script check that both sides build the same model). The
caller sets PyTorch's best CPU environment (run_torch in bench_lib.sh:
OPENBLAS_NUM_THREADS=1, the glibc MALLOC_* thresholds, OPENBLAS_CORETYPE
unset); the thread count comes from BENCH_THREADS.
"""
import math
import os
import resource
import sys
import time
from collections import namedtuple

import torch
from torch import nn
from torch.nn import functional as F

VOCAB, CONTEXT = 65, 128
PROMPT, NEW_TOKENS = 32, 256

Shape = namedtuple("Shape", "dim heads layers batch warmup")
SHAPES = {
    "gpt_train": Shape(128, 4, 4, 16, 3),
    "gpt_generate": Shape(128, 4, 4, 16, 3),
    "gpt768_train": Shape(768, 12, 12, 4, 1),
}


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.dim, self.heads = dim, heads
        self.ln1 = nn.LayerNorm(dim, eps=1e-3)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim, eps=1e-3)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x, cache=None):
        b, t, _ = x.shape
        dim, heads = self.dim, self.heads
        q, k, v = self.qkv(self.ln1(x)).split(dim, dim=2)
        q, k, v = (z.view(b, t, heads, dim // heads).transpose(1, 2) for z in (q, k, v))
        past = 0
        if cache is not None:
            if cache:
                past = cache[0].shape[2]
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        s = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dim // heads))
        if t > 1:  # query i (absolute past + i) sees keys 0 .. past + i
            mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=past)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, dim))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, shape.dim)
        self.pos = nn.Embedding(CONTEXT, shape.dim)
        self.blocks = nn.ModuleList(Block(shape.dim, shape.heads) for _ in range(shape.layers))
        self.ln = nn.LayerNorm(shape.dim, eps=1e-3)
        self.head = nn.Linear(shape.dim, VOCAB)
        keras_init(self, shape)

    def forward(self, ids, caches=None, start=0):
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(start, start + t))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln(x))


def uniform(w, fan_in, fan_out):
    """Glorot uniform, U(-l, l) with l = sqrt(6 / (fan_in + fan_out))."""
    nn.init.uniform_(w, -math.sqrt(6.0 / (fan_in + fan_out)), math.sqrt(6.0 / (fan_in + fan_out)))


@torch.no_grad()
def keras_init(model, shape):
    """The draws libbigmodel's layers make (lib/model/weights.c): Embedding
    U(-0.05, 0.05); PositionEmbedding and Dense kernels Glorot uniform; the
    attention kernels Glorot uniform with Keras' fans of their 3-dimensional
    shapes (q, k, v: (d, heads, d/heads), fans d * heads and d * d/heads;
    output: (heads, d/heads, d), fans d and heads * d); biases zero,
    LayerNorm scale one and offset zero (PyTorch's own)."""
    d, h = shape.dim, shape.heads
    nn.init.uniform_(model.tok.weight, -0.05, 0.05)
    uniform(model.pos.weight, CONTEXT, d)
    for block in model.blocks:
        for i in range(3):
            uniform(block.qkv.weight[i * d:(i + 1) * d], d * h, d * (d // h))
        uniform(block.proj.weight, d, h * d)
        uniform(block.fc1.weight, d, 4 * d)
        uniform(block.fc2.weight, 4 * d, d)
    uniform(model.head.weight, d, VOCAB)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)


def train(shape, seconds):
    model = GPT(shape)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, VOCAB, (shape.batch, CONTEXT))
    y = torch.randint(0, VOCAB, (shape.batch, CONTEXT))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, VOCAB), y.view(-1))
        loss.backward()
        opt.step()

    for _ in range(shape.warmup):
        step()
    t0 = time.perf_counter()
    steps = 0
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    elapsed = time.perf_counter() - t0
    return model, shape.batch * CONTEXT * steps / elapsed, 1e3 * elapsed / steps, steps


@torch.inference_mode()
def generate_once(model, prompt, layers):
    """Greedy decoding with the library's window rule: past the context the
    window restarts on the newest 3/4 of it (the caches are rebuilt)."""
    tokens = prompt[0].tolist()
    caches = [[] for _ in range(layers)]
    logits = model(prompt, caches)
    w0 = 0
    for _ in range(NEW_TOKENS - 1):
        tokens.append(int(logits[0, -1].argmax()))
        if len(tokens) - w0 > CONTEXT:
            w0 = len(tokens) - (CONTEXT - CONTEXT // 4)
            caches = [[] for _ in range(layers)]
            logits = model(torch.tensor([tokens[w0:]]), caches)
        else:
            logits = model(torch.tensor([tokens[-1:]]), caches, start=len(tokens) - 1 - w0)


def generate(shape, seconds):
    model = GPT(shape).eval()
    prompt = torch.randint(0, VOCAB, (1, PROMPT))
    generate_once(model, prompt, shape.layers)  # warm-up
    t0 = time.perf_counter()
    runs = 0
    while runs == 0 or time.perf_counter() - t0 < seconds:
        generate_once(model, prompt, shape.layers)
        runs += 1
    elapsed = time.perf_counter() - t0
    return model, runs * NEW_TOKENS / elapsed, 1e3 * elapsed / (runs * NEW_TOKENS), runs


def main():
    workload = sys.argv[1] if len(sys.argv) > 1 else ""
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    if workload not in SHAPES:
        sys.exit("usage: bench_gpt_torch.py gpt_train|gpt_generate|gpt768_train [SECONDS]")
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    shape = SHAPES[workload]
    training = workload.endswith("_train")
    model, rate, latency, steps = (train if training else generate)(shape, seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    params = sum(p.numel() for p in model.parameters())
    print("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%d threads=%d "
          "params=%d" % (workload, shape.batch if training else 1, rate, latency, rss, steps,
                         threads, params))


if __name__ == "__main__":
    main()
