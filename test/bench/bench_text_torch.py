"""PyTorch side of the text benchmark: the LSTM classifier of bench_text.c.

    python3 bench_text_torch.py lstm_train32 [SECONDS]

nn.Embedding(20000, 128) + nn.LSTM(128, 128) + nn.Linear(128, 1), Adam
(1e-3), BCEWithLogitsLoss, batch 32, sequences of 100 random ids, shuffled
every epoch as fit does. Prints the same BENCH line as bench_text. The
caller sets PyTorch's best CPU environment (run_torch in bench_lib.sh:
OPENBLAS_NUM_THREADS=1, the glibc MALLOC_* thresholds, OPENBLAS_CORETYPE unset);
the thread count comes from BENCH_THREADS.
"""
import os
import resource
import sys
import time

import torch
from torch import nn

VOCAB, SEQ_LEN, BATCH, TRAIN_SEQUENCES = 20000, 100, 32, 512


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, 128)
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.dense = nn.Linear(128, 1)

    def forward(self, ids):
        out, _ = self.lstm(self.embedding(ids))
        return self.dense(out[:, -1])


def epoch(model, opt, loss_fn, x, y):
    order = torch.randperm(len(x))
    for start in range(0, len(x), BATCH):
        idx = order[start:start + BATCH]
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def main():
    workload = sys.argv[1] if len(sys.argv) > 1 else ""
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    if workload != "lstm_train32":
        sys.exit("usage: bench_text_torch.py lstm_train32 [SECONDS]")
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    x = torch.randint(1, VOCAB, (TRAIN_SEQUENCES, SEQ_LEN))
    y = torch.randint(0, 2, (TRAIN_SEQUENCES, 1)).float()
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    t0 = time.perf_counter()
    epoch(model, opt, loss_fn, x, y)  # warm-up
    epochs = int(seconds / (time.perf_counter() - t0)) + 1
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch(model, opt, loss_fn, x, y)
    elapsed = time.perf_counter() - t0
    steps = epochs * (TRAIN_SEQUENCES // BATCH)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%d "
          "threads=%d corpus=random" % (workload, BATCH, epochs * TRAIN_SEQUENCES / elapsed,
                                        1e3 * elapsed / steps, rss, steps, threads))


if __name__ == "__main__":
    main()
