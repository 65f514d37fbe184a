"""Run by test_distributed.py under `mpirun -np 2`: every rank fits a small
classifier with batch 32 over bigmodel.distributed (and with 2 accumulated
batches of 16, and with one bucket of gradients per weight), then alone with batch 64 and no communicator, and prints "rank R: OK" when the weights and the history
agree (rel 1e-5) and Communicator.average and .broadcast give what they should; the
same for train_on_batch of a synchronized BatchNormalization model (2 x 32 rows = 1 x
64) and for a fit's training AUC."""
import io
import re
import sys

import bindings_path  # noqa: F401
import numpy as np

import bigmodel as bm


def data():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((640, 6)).astype(np.float32)
    y = (np.arange(640) % 3).astype(np.int32)
    x[np.arange(640), 2 * y] += 1.2
    return x, y


def model(seed):
    m = bm.Sequential([bm.layers.Dense(16, activation="relu"), bm.layers.Dense(3)],
                      input_shape=(6,), seed=seed)
    m.compile(optimizer=bm.optimizers.SGD(learning_rate=0.05, momentum=0.9),
              loss="sparse_categorical_crossentropy", from_logits=True,
              metrics=["accuracy"])
    return m


class Terminal(io.StringIO):
    """A stdout that says it is a terminal, so fit draws its bar in place."""

    def isatty(self):
        return True


def bar_targets(comm):
    """The step counts of the bars a fit of verbose=1 draws on a terminal: each
    rank's share of the batches (640 / 2 ranks / 32 = 10), not the whole set's."""
    x, y = data()
    m = model(7)
    bm.distributed.attach(m, comm)
    out, sys.stdout = sys.stdout, Terminal()
    try:
        m.fit(x, y, batch_size=32, epochs=1, verbose=1)
        text = sys.stdout.getvalue()
    finally:
        sys.stdout = out
    return {int(t) for t in re.findall(r"\d+/(\d+) \[", text)}


def same(a, b):
    return all(np.allclose(u, v, rtol=1e-5, atol=1e-8) for u, v in zip(a, b))


def main():
    comm = bm.distributed.mpi()
    bm.set_num_threads(1)
    rank, size = comm.rank, comm.size
    x, y = data()
    ref = model(100)
    href = ref.fit(x, y, batch_size=64, epochs=2, verbose=0)
    m = model(100 + rank)
    bm.distributed.attach(m, comm)
    h = m.fit(x, y, batch_size=64 // size, epochs=2, verbose=0)
    if not same(m.get_weights(), ref.get_weights()):
        print("rank %d: FAIL: weights differ from one process's" % rank)
        return 1
    for key in ("loss", "accuracy"):
        if not np.allclose(h.history[key], href.history[key], rtol=1e-5):
            print("rank %d: FAIL: history %s %s against %s"
                  % (rank, key, h.history[key], href.history[key]))
            return 1
    # evaluate: each rank its share, every rank the values of all.
    got, want = m.evaluate(x, y, verbose=0), ref.evaluate(x, y, verbose=0)
    if not np.allclose(got, want, rtol=1e-5):
        print("rank %d: FAIL: evaluate over the ranks %s, one process %s" % (rank, got, want))
        return 1
    # Gradient accumulation: 2 batches of 64 / (2 size) per step, the same steps.
    ma = model(100 + rank)
    bm.distributed.attach(ma, comm)
    ha = ma.fit(x, y, batch_size=64 // size // 2, epochs=2, verbose=0,
                gradient_accumulation_steps=2)
    if not same(ma.get_weights(), ref.get_weights()) or \
            not np.allclose(ha.history["loss"], href.history["loss"], rtol=1e-5):
        print("rank %d: FAIL: 2 accumulated batches differ from one process's batch of 64"
              % rank)
        return 1
    # One bucket of gradients per weight, each reduced while backward goes on.
    mk = model(100 + rank)
    bm.distributed.attach(mk, comm)
    hk = mk.fit(x, y, batch_size=64 // size, epochs=2, verbose=0, allreduce_bucket_bytes=1)
    if not same(mk.get_weights(), ref.get_weights()) or \
            not np.allclose(hk.history["loss"], href.history["loss"], rtol=1e-5):
        print("rank %d: FAIL: buckets of one weight differ from one process's batch of 64"
              % rank)
        return 1
    # Synchronized BatchNormalization: the statistics of all ranks' rows.
    def bn_model(seed):
        b = bm.Sequential([bm.layers.Dense(16, activation="relu"),
                           bm.layers.BatchNormalization(momentum=0.5, synchronized=True),
                           bm.layers.Dense(3)], input_shape=(6,), seed=seed)
        b.compile(optimizer=bm.optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy", from_logits=True)
        return b
    bref, mb = bn_model(100), bn_model(100 + rank)
    bref.fit(x, y, batch_size=64, epochs=2, verbose=0)
    bm.distributed.attach(mb, comm)
    mb.fit(x, y, batch_size=64 // size, epochs=2, verbose=0)
    # Relative to the largest weight, as the C tests: beta sits near 0.
    scale = max(float(np.abs(w).max()) for w in bref.get_weights())
    if any(np.abs(u - v).max() > 1e-5 * scale
           for u, v in zip(mb.get_weights(), bref.get_weights())):
        print("rank %d: FAIL: synchronized BatchNormalization differs from one process"
              % rank)
        return 1
    # train_on_batch is a data-parallel step too: each rank its 64 / size rows
    # of every 64, the synchronized statistics and the loss of all of them.
    tref, mt = bn_model(100), bn_model(100 + rank)
    bm.distributed.attach(mt, comm)
    rows = 64 // size
    for k in range(10):
        want = tref.train_on_batch(x[64 * k:64 * k + 64], y[64 * k:64 * k + 64])
        got = mt.train_on_batch(x[64 * k + rank * rows:64 * k + (rank + 1) * rows],
                                y[64 * k + rank * rows:64 * k + (rank + 1) * rows])
    if any(np.abs(u - v).max() > 1e-5 * scale
           for u, v in zip(mt.get_weights(), tref.get_weights())) or \
            not np.allclose(got, want, rtol=1e-5):
        print("rank %d: FAIL: train_on_batch over the ranks (loss %s) differs from one "
              "process (loss %s)" % (rank, got, want))
        return 1
    # AUC as a training metric: of all the ranks' scores, as one process.
    yb = (x[:, 0] + x[:, 3] > 0.3).astype(np.float32)

    def auc_model(seed):
        a = bm.Sequential([bm.layers.Dense(8, activation="relu"),
                           bm.layers.Dense(1, activation="sigmoid")], input_shape=(6,),
                          seed=seed)
        a.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["auc"])
        return a
    aref, ma2 = auc_model(100), auc_model(100 + rank)
    hwant = aref.fit(x, yb, batch_size=64, epochs=2, verbose=0)
    bm.distributed.attach(ma2, comm)
    hgot = ma2.fit(x, yb, batch_size=64 // size, epochs=2, verbose=0)
    if not np.allclose(hgot.history["auc"], hwant.history["auc"], rtol=1e-5):
        print("rank %d: FAIL: training AUC %s, one process %s"
              % (rank, hgot.history["auc"], hwant.history["auc"]))
        return 1
    # Custom loops: the mean over the ranks, and rank 1's tensors to all.
    t = bm.full((3,), float(rank))
    comm.average([t])
    u = bm.full((2,), float(rank + 1))
    comm.broadcast([u], root=1)
    if t.tolist() != [0.5] * 3 or u.tolist() != [2.0] * 2:
        print("rank %d: FAIL: average %s, broadcast %s" % (rank, t.tolist(), u.tolist()))
        return 1
    targets, steps = bar_targets(comm), 640 // size // 32
    if rank == 0 and targets != {steps}:
        print("rank 0: FAIL: progress bar targets %s, expected {%d}" % (targets, steps))
        return 1
    comm.barrier()
    print("rank %d of %d: OK (loss %.4f -> %.4f)" % (rank, size, h.history["loss"][0],
                                                      h.history["loss"][1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
