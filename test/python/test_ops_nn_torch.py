"""Neural-network ops against PyTorch on identical inputs and weights:
conv2d (VALID and TensorFlow-style SAME, strides 1 and 2, 1x1), max / avg
pooling, batch norm in training and inference (running statistics too), and
every loss. Forward values and gradients (input, kernel, bias, gamma, beta,
predictions) agree within 1e-4 relative to the largest reference value.

PyTorch is NCHW with conv weights (F, C, KH, KW); the library is NHWC with
Keras kernels (KH, KW, C, F), so the torch side permutes. Torch computes in
float64 from the same float32 inputs, so differences are the library's own.
"""
import ctypes

import numpy as np
import pytest

from cbridge import P, assert_close, declare_tensor_api, t64, tf_same_pads

torch = pytest.importorskip("torch")
F = torch.nn.functional

VALID, SAME = 0, 1


@pytest.fixture(scope="module")
def api(lib):
    pp = ctypes.POINTER(P)
    c_int, c_float = ctypes.c_int, ctypes.c_float
    declare_tensor_api(lib)
    lib.bgm_op_conv2d.argtypes = [pp, P, P, P, P, c_int, c_int, c_int]
    for name in ("bgm_op_max_pool2d", "bgm_op_avg_pool2d"):
        getattr(lib, name).argtypes = [pp, P, P, c_int, c_int, c_int, c_int, c_int]
    lib.bgm_op_batch_norm.argtypes = [pp, P, P, P, P, P, P, c_float, c_float, c_int]
    for name in ("bgm_op_mse_loss", "bgm_op_mae_loss"):
        getattr(lib, name).argtypes = [pp, P, P, P]
    for name in ("bgm_op_binary_crossentropy", "bgm_op_categorical_crossentropy",
                 "bgm_op_sparse_categorical_crossentropy"):
        getattr(lib, name).argtypes = [pp, P, P, P, c_int]
    return lib


def rng(seed):
    return np.random.default_rng(seed)


# ---- convolution -----------------------------------------------------------

CONV_CASES = [
    # x shape (N, H, W, C), kernel (KH, KW, C, F), strides, padding, bias
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), VALID, True),
    ((2, 7, 6, 3), (3, 3, 3, 4), (1, 1), SAME, True),
    ((2, 8, 7, 3), (3, 2, 3, 5), (2, 2), SAME, False),
    ((2, 8, 7, 3), (3, 3, 3, 5), (2, 2), VALID, True),
    ((1, 9, 9, 2), (4, 4, 2, 3), (2, 1), SAME, True),
    ((3, 5, 4, 6), (1, 1, 6, 4), (1, 1), VALID, True),
    ((2, 5, 5, 3), (1, 1, 3, 2), (2, 2), SAME, False),
]


def torch_conv(x, k, b, strides, padding):
    xt = x.permute(0, 3, 1, 2)
    if padding == SAME:
        top, bottom = tf_same_pads(x.shape[1], k.shape[0], strides[0])
        left, right = tf_same_pads(x.shape[2], k.shape[1], strides[1])
        xt = F.pad(xt, (left, right, top, bottom))
    y = F.conv2d(xt, k.permute(3, 2, 0, 1), b, stride=strides)
    return y.permute(0, 2, 3, 1)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x%s-k%s-s%s-%s" % (
    "x".join(map(str, c[0])), "x".join(map(str, c[1])), c[2][0], "same" if c[3] else "valid"))
def test_conv2d_matches_torch(session, case):
    xs, ks, strides, padding, with_bias = case
    r = rng(1)
    x = r.standard_normal(xs).astype(np.float32)
    k = (r.standard_normal(ks) * 0.5).astype(np.float32)
    b = r.standard_normal(ks[3]).astype(np.float32)
    hx, hk = session.tensor(x, watch=True), session.tensor(k, watch=True)
    hb = session.tensor(b, watch=True) if with_bias else None
    out = session.call("bgm_op_conv2d", hx, hk, hb, strides[0], strides[1], padding)
    y = session.read(out)

    xt, kt, bt = t64(x), t64(k), t64(b) if with_bias else None
    yt = torch_conv(xt, kt, bt, strides, padding)
    assert_close(y, yt.detach().numpy(), "y")

    w = r.uniform(-1, 1, y.shape).astype(np.float32)
    sources = [hx, hk] + ([hb] if with_bias else [])
    got = session.grads(out, w, sources)
    (yt * t64(w, grad=False)).sum().backward()
    assert_close(got[0], xt.grad.numpy(), "grad x")
    assert_close(got[1], kt.grad.numpy(), "grad kernel")
    if with_bias:
        assert_close(got[2], bt.grad.numpy(), "grad bias")


# ---- pooling ----------------------------------------------------------------

POOL_CASES = [
    # max?, pool, strides, padding
    (True, (2, 2), (2, 2), VALID),
    (True, (3, 3), (2, 2), SAME),
    (True, (3, 2), (1, 2), SAME),
    (False, (2, 2), (2, 2), VALID),
    (False, (3, 3), (2, 2), SAME),
    (False, (3, 2), (1, 1), SAME),
]


def torch_pool(x, is_max, pool, strides, padding):
    xt = x.permute(0, 3, 1, 2)
    pads = (0, 0, 0, 0)
    if padding == SAME:
        top, bottom = tf_same_pads(x.shape[1], pool[0], strides[0])
        left, right = tf_same_pads(x.shape[2], pool[1], strides[1])
        pads = (left, right, top, bottom)
    if is_max:
        y = F.max_pool2d(F.pad(xt, pads, value=-np.inf), pool, strides)
    else:
        # Keras leaves padded cells out of the count: sum / number of real cells.
        area = pool[0] * pool[1]
        sums = F.avg_pool2d(F.pad(xt, pads), pool, strides) * area
        ones = torch.ones_like(xt[:1, :1])
        counts = F.avg_pool2d(F.pad(ones, pads), pool, strides) * area
        y = sums / counts
    return y.permute(0, 2, 3, 1)


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: "%s-%dx%d-s%d%d-%s" % (
    "max" if c[0] else "avg", c[1][0], c[1][1], c[2][0], c[2][1], "same" if c[3] else "valid"))
def test_pooling_matches_torch(session, case):
    is_max, pool, strides, padding = case
    r = rng(2)
    x = r.permutation(2 * 7 * 8 * 3).reshape(2, 7, 8, 3).astype(np.float32) * 0.01  # no ties
    hx = session.tensor(x, watch=True)
    name = "bgm_op_max_pool2d" if is_max else "bgm_op_avg_pool2d"
    out = session.call(name, hx, pool[0], pool[1], strides[0], strides[1], padding)
    y = session.read(out)
    xt = t64(x)
    yt = torch_pool(xt, is_max, pool, strides, padding)
    assert_close(y, yt.detach().numpy(), "y")
    w = r.uniform(-1, 1, y.shape).astype(np.float32)
    (gx,) = session.grads(out, w, [hx])
    (yt * t64(w, grad=False)).sum().backward()
    assert_close(gx, xt.grad.numpy(), "grad x")


# ---- batch normalization ------------------------------------------------------

@pytest.mark.parametrize("training", [1, 0], ids=["training", "inference"])
@pytest.mark.parametrize("xs", [(4, 3, 5, 6), (16, 5)], ids=["nhwc", "dense"])
def test_batch_norm_matches_torch(session, training, xs):
    r = rng(3)
    c = xs[-1]
    x = (r.standard_normal(xs) * 2 + 1).astype(np.float32)
    gamma = r.uniform(0.5, 2, c).astype(np.float32)
    beta = r.standard_normal(c).astype(np.float32)
    rm = r.standard_normal(c).astype(np.float32)
    rv = r.uniform(0.5, 2, c).astype(np.float32)
    keras_momentum, eps = 0.9, 1e-3
    hx, hg, hb = (session.tensor(a, watch=True) for a in (x, gamma, beta))
    rmt, rvt = t64(rm, grad=False), t64(rv, grad=False)  # before the update
    hm, hv = session.tensor(rm), session.tensor(rv)
    out = session.call("bgm_op_batch_norm", hx, hg, hb, hm, hv, keras_momentum, eps, training)
    y = session.read(out)
    rm_after, rv_after = session.arrays[-2], session.arrays[-1]  # updated in place

    xt, gt, bt = t64(x), t64(gamma), t64(beta)
    perm = (0, 3, 1, 2) if len(xs) == 4 else (0, 1)
    back = (0, 2, 3, 1) if len(xs) == 4 else (0, 1)
    # PyTorch's momentum weighs the new batch: 1 - Keras' momentum.
    yt = F.batch_norm(xt.permute(*perm), rmt, rvt, gt, bt, training=bool(training),
                      momentum=1 - keras_momentum, eps=eps).permute(*back)
    assert_close(y, yt.detach().numpy(), "y")
    assert_close(rm_after, rmt.numpy(), "running_mean")
    assert_close(rv_after, rvt.numpy(), "running_var")

    w = r.uniform(-1, 1, y.shape).astype(np.float32)
    gx, gg, gb = session.grads(out, w, [hx, hg, hb])
    (yt * t64(w, grad=False)).sum().backward()
    assert_close(gx, xt.grad.numpy(), "grad x")
    assert_close(gg, gt.grad.numpy(), "grad gamma")
    assert_close(gb, bt.grad.numpy(), "grad beta")


# ---- losses -------------------------------------------------------------------

def probabilities(r, shape):
    e = np.exp(r.standard_normal(shape))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def torch_nll_of_probs(p, labels):
    """Keras' probability path: rows renormalized, then the log of the label's."""
    q = p / p.sum(-1, keepdim=True)
    return F.nll_loss(torch.log(q.reshape(-1, q.shape[-1])), labels.reshape(-1))


LOSS_CASES = ["mse", "mae", "bce_logits", "bce_probs", "cce_logits", "cce_probs",
              "sparse_logits", "sparse_probs", "sparse_logits_3d"]


@pytest.mark.parametrize("kind", LOSS_CASES)
def test_loss_matches_torch(session, kind):
    r = rng(4)
    shape = (2, 3, 5) if kind.endswith("3d") else (6, 5)
    classes = shape[-1]
    labels = r.integers(0, classes, shape[:-1]).astype(np.int32)
    onehot = np.eye(classes, dtype=np.float32)[labels]
    lt = torch.tensor(labels.astype(np.int64))
    if kind in ("mse", "mae"):
        pred, target = r.standard_normal(shape), r.standard_normal(shape)
    elif kind == "bce_logits":
        pred, target = r.standard_normal(shape) * 3, r.uniform(0, 1, shape)
    elif kind == "bce_probs":
        pred, target = r.uniform(0.05, 0.95, shape), r.uniform(0, 1, shape)
    elif kind.endswith("logits") or kind.endswith("3d"):
        pred, target = r.standard_normal(shape) * 2, onehot
    else:
        pred, target = probabilities(r, shape), onehot
    pred = pred.astype(np.float32)
    target = target.astype(np.float32)

    hp = session.tensor(pred, watch=True)
    logits = int("logits" in kind)
    if kind == "mse":
        out = session.call("bgm_op_mse_loss", hp, session.tensor(target))
    elif kind == "mae":
        out = session.call("bgm_op_mae_loss", hp, session.tensor(target))
    elif kind.startswith("bce"):
        out = session.call("bgm_op_binary_crossentropy", hp, session.tensor(target), logits)
    elif kind.startswith("cce"):
        out = session.call("bgm_op_categorical_crossentropy", hp, session.tensor(target),
                           logits)
    else:
        out = session.call("bgm_op_sparse_categorical_crossentropy", hp,
                           session.tensor(labels), logits)
    loss = session.read(out)
    assert loss.shape == ()

    pt, tt = t64(pred), t64(target, grad=False)
    if kind == "mse":
        ref = F.mse_loss(pt, tt)
    elif kind == "mae":
        ref = F.l1_loss(pt, tt)
    elif kind == "bce_logits":
        ref = F.binary_cross_entropy_with_logits(pt, tt)
    elif kind == "bce_probs":
        ref = F.binary_cross_entropy(pt, tt)
    elif logits:
        ref = F.cross_entropy(pt.reshape(-1, classes), lt.reshape(-1))
    else:
        ref = torch_nll_of_probs(pt, lt)
    assert_close(loss, ref.detach().numpy(), "loss")

    (gp,) = session.grads(out, np.ones((), dtype=np.float32), [hp])
    ref.backward()
    assert_close(gp, pt.grad.numpy(), "grad pred")
