"""No leak after 10,000 create/free cycles: the package's handle counters
return to where they were and the process does not grow (each cycle touches
4 KiB buffers, so a leaked buffer would add 40 MB)."""
import numpy as np

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import ops
from leakcheck import assert_no_growth


def test_tensor_create_view_free_cycles():
    base = np.ones(1024, dtype=np.float32)

    def cycle(i):
        t = bm.Tensor(base.copy())          # wrapped numpy buffer, freed via the deleter
        v = t.numpy()                       # a view handle of its own
        u = bm.Tensor([float(i)] * 16)      # a copied list
        w = bm.zeros(1024)
        s = t.reshape(32, 32)[3:5]          # views of views
        m = u.memoryview()
        t.close()
        assert v[0] == 1.0 and m[1] == float(i) and s.shape == (2, 32) and w.size == 1024

    assert_no_growth(cycle)


def test_tape_cycles():
    w = bm.Variable(np.full((1024,), 0.5, dtype=np.float32))
    x = np.ones(1024, dtype=np.float32)

    def cycle(i):
        with bm.GradientTape() as tape:
            loss = ops.reduce_sum(w * x + 1.0)
        g = tape.gradient(loss, [w])[0]
        assert g.numpy()[0] == 1.0

    assert_no_growth(cycle)


def test_reused_tape_cycles():
    w = bm.Variable(np.full((1024,), 0.5, dtype=np.float32))
    tape = bm.GradientTape()

    def cycle(i):
        with tape:
            loss = ops.reduce_mean(ops.relu(w) ** 2)
        tape.gradient(loss, w)

    assert_no_growth(cycle)


def test_dataset_metric_optimizer_cycles():
    x = np.zeros((64, 16), dtype=np.float32)
    y = np.arange(64, dtype=np.int32) % 4
    w = bm.Variable(np.zeros(1024, np.float32))

    def cycle(i):
        ds = bm.Dataset(x, y)
        for bx, by in ds.take(32).batches(16):
            pass
        m = bm.metrics.Accuracy()
        m.update_state(y, y)
        opt = bm.optimizers.Adam(0.1)
        opt.apply([bm.ones(1024)], [w])
        assert m.result() == 1.0

    assert_no_growth(cycle, n=2_000)
