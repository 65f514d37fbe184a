"""PyTorch side of `make bench`: the same workloads as bench_models.c.

    python3 bench_torch.py WORKLOAD [SECONDS] [VARIANT]

One workload per process, so the peak RSS printed is that workload's alone.
Prints the same BENCH line as bench_models. The caller sets the environment
of PyTorch's best CPU configuration (OPENBLAS_NUM_THREADS=1, the glibc
MALLOC_* thresholds, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset: see
bench_lib.sh's run_torch); the thread count comes from BENCH_THREADS. VARIANT
(ResNet workloads only) is how PyTorch runs the model: nchw (default),
channels_last (NHWC memory format, oneDNN's preferred layout), or, for
inference, frozen (TorchScript frozen with torch.jit.optimize_for_inference:
BatchNorm folded into the convolutions). run.sh runs each in a short
pre-pass and pairs the fastest with the library.
"""
import gzip
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

CIFAR_TRAIN_SAMPLES = 1024
MLP_TRAIN_SAMPLES = 9984  # of the 10,000 t10k images: 156 full batches of 64
WARMUP_STEPS = 5
INFER_CALLS_MIN = 3


def minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cnn():
    # NCHW, as PyTorch prefers; the same layers and parameter count as the C model.
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))


class BasicBlock(nn.Module):
    """Conv-BN-ReLU-Conv-BN plus the identity or a 1x1 projection, then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01))

    def forward(self, x):
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


def resnet():
    # The ResNet of examples/resnet_fashion.c (Keras' BatchNormalization
    # defaults: eps 1e-3, momentum 0.99 = PyTorch's 0.01).
    layers = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16, eps=1e-3, momentum=0.01),
              nn.ReLU()]
    cin = 16
    for stage, cout in enumerate((16, 32, 64)):
        for block in range(2):
            layers.append(BasicBlock(cin, cout, 2 if stage > 0 and block == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def mlp(widths):
    """Linear + ReLU layers of the given widths, then Linear on logits."""
    layers = []
    for i in range(1, len(widths)):
        layers.append(nn.Linear(widths[i - 1], widths[i]))
        if i < len(widths) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion():
    d = os.environ.get("BENCH_FASHION_DIR", "/usr/share/datasets/fashion-mnist")
    x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784)
    y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    x, y = x[:MLP_TRAIN_SAMPLES], y[:MLP_TRAIN_SAMPLES]
    return (torch.from_numpy(x.astype(np.float32) / 255.0),
            torch.from_numpy(y.astype(np.int64)))


def batches(x, y, batch, gen):
    """Shuffled full batches, epoch after epoch, as Keras' fit draws them."""
    n = x.shape[0]
    while True:
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - batch + 1, batch):
            idx = perm[i:i + batch]
            yield x[idx], y[idx]


def time_fit(model, x, y, batch, seconds):
    """A few warm-up steps, then steps for `seconds`: loss, gradients, Adam and
    the running accuracy, as fit computes them."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    stream = batches(x, y, batch, torch.Generator().manual_seed(42))
    correct = 0

    def step():
        nonlocal correct
        xb, yb = next(stream)
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        correct += int((logits.detach().argmax(1) == yb).sum())

    model.train()
    for _ in range(WARMUP_STEPS):
        step()
    steps = 0
    f0 = minor_faults()
    t0 = t1 = time.perf_counter()
    while t1 - t0 < seconds:
        step()
        steps += 1
        t1 = time.perf_counter()
    dt = t1 - t0
    return steps * batch / dt, 1e3 * dt / steps, (minor_faults() - f0) / steps, steps


def time_predict(model, x, seconds):
    model.eval()
    with torch.inference_mode():
        for _ in range(INFER_CALLS_MIN):
            model(x)
        calls = 0
        f0 = minor_faults()
        t0 = t1 = time.perf_counter()
        while calls < INFER_CALLS_MIN or t1 - t0 < seconds:
            model(x)
            calls += 1
            t1 = time.perf_counter()
    dt = t1 - t0
    return calls * x.shape[0] / dt, 1e3 * dt / calls, (minor_faults() - f0) / calls, calls


WORKLOADS = {
    "cnn_train32": (32, True),
    "cnn_train64": (64, True),
    "mlp_train64": (64, True),
    "cnn_infer256": (256, False),
    "cnn_latency1": (1, False),
    "resnet_train64": (64, True),
    "resnet_infer64": (64, False),
    "mlp37m_train64": (64, True),
}
VARIANTS = ("nchw", "channels_last", "frozen")


def main():
    if (len(sys.argv) < 2 or sys.argv[1] not in WORKLOADS
            or (len(sys.argv) > 3 and sys.argv[3] not in VARIANTS)):
        sys.exit("usage: bench_torch.py " + "|".join(WORKLOADS) + " [SECONDS] ["
                 + "|".join(VARIANTS) + "]")
    name = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    variant = sys.argv[3] if len(sys.argv) > 3 else "nchw"
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(42)
    batch, train = WORKLOADS[name]
    if name == "mlp_train64":
        model = mlp((784, 256, 128, 10))
        x, y = fashion()
    elif name == "mlp37m_train64":
        # The 37M-parameter MLP of issue 16 on random data, as bench_models.
        model = mlp((784, 4096, 4096, 4096, 10))
        x = torch.rand(CIFAR_TRAIN_SAMPLES, 784)
        y = torch.randint(0, 10, (CIFAR_TRAIN_SAMPLES,))
    elif name.startswith("resnet"):
        model = resnet()
        n = CIFAR_TRAIN_SAMPLES if train else batch
        x = torch.rand(n, 1, 28, 28)
        y = torch.randint(0, 10, (n,))
        if variant == "channels_last":
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        elif variant == "frozen" and not train:
            model.eval()
            model = torch.jit.optimize_for_inference(torch.jit.script(model))
    else:
        model = cnn()
        n = CIFAR_TRAIN_SAMPLES if train else batch
        x = torch.rand(n, 3, 32, 32)
        y = torch.randint(0, 10, (n,))
    if train:
        rate, latency, faults, steps = time_fit(model, x, y, batch, seconds)
    else:
        rate, latency, faults, steps = time_predict(model, x, seconds)
    print("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f "
          "minflt_per_step=%.1f steps=%d threads=%d variant=%s"
          % (name, batch, rate, latency, peak_rss_mib(), faults, steps, threads, variant))


if __name__ == "__main__":
    main()
