"""PyTorch side of the GPT benchmark: the character GPT of bench_gpt.c.

    python3 bench_gpt_torch.py gpt_train|gpt_generate [SECONDS]

Token + learned position embedding, 4 pre-LN blocks (LayerNorm -> causal
multi-head attention (4 heads of 32) -> residual add, LayerNorm -> Linear 4d
GELU -> Linear d -> residual add), final LayerNorm, Linear over a 65-token
vocabulary; d 128, context 128. Training: AdamW (1e-3), cross-entropy over
every position, batch 16 of random ids. Generation: batch 1, a 32-token
prompt, then 256 tokens one at a time, each step running only the new
position against a key/value cache the blocks keep (greedy, so both sides
do the same work; past the context of 128 both restart the window on its
newest 96 tokens, as bgm_decoder does). PyTorch 1.13 has no fused attention, so attention is
written with matmuls and a softmax, as minGPT does. Prints the same BENCH
line as bench_gpt. The caller sets PyTorch's best CPU environment
(run_torch in bench_lib.sh: OPENBLAS_NUM_THREADS=1, the glibc MALLOC_*
thresholds, OPENBLAS_CORETYPE unset); the thread count comes from
BENCH_THREADS.
"""
import math
import os
import resource
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

VOCAB, CONTEXT, DIM, HEADS, LAYERS, BATCH = 65, 128, 128, 4, 4, 16
PROMPT, NEW_TOKENS = 32, 256


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(DIM, eps=1e-3)
        self.qkv = nn.Linear(DIM, 3 * DIM)
        self.proj = nn.Linear(DIM, DIM)
        self.ln2 = nn.LayerNorm(DIM, eps=1e-3)
        self.fc1 = nn.Linear(DIM, 4 * DIM)
        self.fc2 = nn.Linear(4 * DIM, DIM)

    def forward(self, x, cache=None):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(DIM, dim=2)
        q, k, v = (z.view(b, t, HEADS, DIM // HEADS).transpose(1, 2) for z in (q, k, v))
        past = 0
        if cache is not None:
            if cache:
                past = cache[0].shape[2]
                k = torch.cat([cache[0], k], dim=2)
                v = torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        s = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(DIM // HEADS))
        if t > 1:  # query i (absolute past + i) sees keys 0 .. past + i
            mask = torch.ones(t, s, dtype=torch.bool).tril(diagonal=past)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, DIM))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, DIM)
        self.pos = nn.Embedding(CONTEXT, DIM)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln = nn.LayerNorm(DIM, eps=1e-3)
        self.head = nn.Linear(DIM, VOCAB)

    def forward(self, ids, caches=None, start=0):
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(start, start + t))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.head(self.ln(x))


def train(seconds):
    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, VOCAB, (BATCH, CONTEXT))
    y = torch.randint(0, VOCAB, (BATCH, CONTEXT))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, VOCAB), y.view(-1))
        loss.backward()
        opt.step()

    for _ in range(3):  # warm-up
        step()
    t0 = time.perf_counter()
    steps = 0
    while time.perf_counter() - t0 < seconds:
        step()
        steps += 1
    elapsed = time.perf_counter() - t0
    return steps * BATCH * CONTEXT / elapsed, 1e3 * elapsed / steps, steps


@torch.inference_mode()
def generate_once(model, prompt):
    """Greedy decoding with the library's window rule: past the context the
    window restarts on the newest 3/4 of it (the caches are rebuilt)."""
    tokens = prompt[0].tolist()
    caches = [[] for _ in range(LAYERS)]
    logits = model(prompt, caches)
    w0 = 0
    for _ in range(NEW_TOKENS - 1):
        tokens.append(int(logits[0, -1].argmax()))
        if len(tokens) - w0 > CONTEXT:
            w0 = len(tokens) - (CONTEXT - CONTEXT // 4)
            caches = [[] for _ in range(LAYERS)]
            logits = model(torch.tensor([tokens[w0:]]), caches)
        else:
            logits = model(torch.tensor([tokens[-1:]]), caches, start=len(tokens) - 1 - w0)


def generate(seconds):
    model = GPT().eval()
    prompt = torch.randint(0, VOCAB, (1, PROMPT))
    generate_once(model, prompt)  # warm-up
    t0 = time.perf_counter()
    runs = 0
    while runs == 0 or time.perf_counter() - t0 < seconds:
        generate_once(model, prompt)
        runs += 1
    elapsed = time.perf_counter() - t0
    return runs * NEW_TOKENS / elapsed, 1e3 * elapsed / (runs * NEW_TOKENS), runs


def main():
    workload = sys.argv[1] if len(sys.argv) > 1 else ""
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    if workload not in ("gpt_train", "gpt_generate"):
        sys.exit("usage: bench_gpt_torch.py gpt_train|gpt_generate [SECONDS]")
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    rate, latency, steps = (train if workload == "gpt_train" else generate)(seconds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%d threads=%d"
          % (workload, BATCH if workload == "gpt_train" else 1, rate, latency, rss, steps,
             threads))


if __name__ == "__main__":
    main()
