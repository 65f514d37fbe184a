"""Sequence ops against PyTorch on identical weights: embedding lookup, LSTM
and GRU (forward outputs and the gradients of every input), forward and
reversed, with and without return_sequences, with initial states, padding
masks and a recurrent mask. Values agree within 1e-4 relative to the largest
reference value.

Conventions mapped here: the library keeps Keras' kernels (F, G*H) and
(H, G*H); PyTorch stores their transposes. LSTM gates are i, f, g, o on both
sides, and PyTorch's two biases add up to the library's one. GRU gates are
z, r, n in Keras and the library, r, z, n in PyTorch; the library's bias
(2, 3H) holds PyTorch's bias_ih and bias_hh as rows. Torch computes in
float64 from the same float32 values, so differences are the library's own.

nn.LSTM / nn.GRU have no masks, so masked and recurrent-masked cases are
checked against a step loop written with torch ops, itself checked against
nn.LSTM / nn.GRU on the unmasked cases.
"""
import ctypes

import numpy as np
import pytest

from cbridge import I64, INT32, P, assert_close, declare_tensor_api, t64
from conftest import check

torch = pytest.importorskip("torch")

N, T, FEAT, H = 3, 5, 4, 6


@pytest.fixture(scope="module")
def api(lib):
    pp = ctypes.POINTER(P)
    c_int = ctypes.c_int
    declare_tensor_api(lib)
    lib.bgm_op_embedding.argtypes = [pp, P, P, P]
    lib.bgm_sequence_mask.argtypes = [pp, P]
    lib.bgm_op_lstm.argtypes = [pp, P, P, P, P, P, P, P, P, P, c_int, c_int]
    lib.bgm_op_gru.argtypes = [pp, P, P, P, P, P, P, P, P, c_int, c_int]
    return lib


# ---- embedding ---------------------------------------------------------------

def test_embedding_matches_torch(session):
    r = np.random.default_rng(1)
    ids = np.array([[1, 4, 4, 0, 9], [9, 9, 9, 2, 3], [0, 0, 7, 4, 1]], dtype=np.int32)
    table = r.standard_normal((10, 4)).astype(np.float32)
    hids, htab = session.tensor(ids), session.tensor(table, watch=True)
    out = session.call("bgm_op_embedding", hids, htab)
    y = session.read(out)

    emb = torch.nn.Embedding(10, 4).double()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(table.astype(np.float64)))
    yt = emb(torch.from_numpy(ids.astype(np.int64)))
    assert_close(y, yt.detach().numpy(), "y")

    w = r.uniform(-1, 1, y.shape).astype(np.float32)
    (gtab,) = session.grads(out, w, [htab])
    (yt * t64(w, grad=False)).sum().backward()
    assert_close(gtab, emb.weight.grad.numpy(), "grad table")


def test_sequence_mask_marks_nonzero_ids(api):
    ids = np.array([[0, 0, 3, 1], [5, 0, 2, 0]], dtype=np.int32)
    shape = (I64 * 2)(*ids.shape)
    h, m = P(), P()
    check(api, api.bgm_tensor_wrap(ctypes.byref(h), INT32, shape, 2, ids.ctypes.data, None,
                                   None))
    try:
        check(api, api.bgm_sequence_mask(ctypes.byref(m), h))
        buf = (ctypes.c_float * ids.size).from_address(api.bgm_tensor_data(m))
        got = np.ctypeslib.as_array(buf).reshape(ids.shape)
        np.testing.assert_array_equal(got, (ids != 0).astype(np.float32))
    finally:
        api.bgm_tensor_free(m)
        api.bgm_tensor_free(h)


# ---- torch references -----------------------------------------------------------

def run_torch_module(module, x, h0, c0, reverse):
    """Full output sequence (aligned with x's time) and the last step's output."""
    xs = torch.flip(x, [1]) if reverse else x
    state = None
    if h0 is not None:
        state = (h0.unsqueeze(0), c0.unsqueeze(0)) if c0 is not None else h0.unsqueeze(0)
    y, _ = module(xs, state)
    last = y[:, -1]
    return (torch.flip(y, [1]) if reverse else y), last


def lstm_step(xt, h, c, w_ih, w_hh, b, hm):
    z = xt @ w_ih + (h * hm) @ w_hh + b
    i, f, g, o = z.chunk(4, dim=1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c2 = f * c + i * g
    return o * torch.tanh(c2), c2


def gru_step(xt, h, w_ih, w_hh, b, hm):
    hh = 3 * w_hh.shape[0]
    xp = xt @ w_ih + b[0]
    rp = (h * hm) @ w_hh + b[1]
    z = torch.sigmoid(xp[:, :hh // 3] + rp[:, :hh // 3])
    r = torch.sigmoid(xp[:, hh // 3:2 * hh // 3] + rp[:, hh // 3:2 * hh // 3])
    n = torch.tanh(xp[:, 2 * hh // 3:] + r * rp[:, 2 * hh // 3:])
    return z * h + (1 - z) * n


def run_loop(kind, x, w_ih, w_hh, b, h0, c0, mask, rmask, reverse):
    """Keras' masked recurrence as a step loop: padded steps keep the state and
    repeat the previous output (zeros before the first real step)."""
    n, steps, _ = x.shape
    hid = w_hh.shape[0]
    h = h0 if h0 is not None else torch.zeros(n, hid, dtype=torch.float64)
    c = c0 if c0 is not None else torch.zeros(n, hid, dtype=torch.float64)
    hm = rmask if rmask is not None else torch.ones(n, hid, dtype=torch.float64)
    prev_out = torch.zeros(n, hid, dtype=torch.float64)
    outs = [None] * steps
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        if kind == "lstm":
            h2, c2 = lstm_step(x[:, t], h, c, w_ih, w_hh, b, hm)
        else:
            h2, c2 = gru_step(x[:, t], h, w_ih, w_hh, b, hm), c
        keep = (mask[:, t:t + 1] != 0) if mask is not None else torch.ones(n, 1, dtype=bool)
        h = torch.where(keep, h2, h)
        c = torch.where(keep, c2, c)
        prev_out = torch.where(keep, h2, prev_out)
        outs[t] = prev_out
    return torch.stack(outs, 1), prev_out


# ---- LSTM and GRU ------------------------------------------------------------------

CASES = [
    # return_sequences, reverse, initial state, bias
    (1, 0, False, True),
    (0, 0, False, True),
    (1, 1, True, True),
    (0, 1, True, False),
    (1, 0, True, False),
]


def case_id(c):
    return "%s-%s-%s-%s" % ("seq" if c[0] else "last", "rev" if c[1] else "fwd",
                            "h0" if c[2] else "zero", "bias" if c[3] else "nobias")


def make_weights(kind, seed):
    g = 4 if kind == "lstm" else 3
    r = np.random.default_rng(seed)
    d = {
        "x": r.standard_normal((N, T, FEAT)).astype(np.float32),
        "w_ih": (r.standard_normal((FEAT, g * H)) * 0.5).astype(np.float32),
        "w_hh": (r.standard_normal((H, g * H)) * 0.5).astype(np.float32),
        "b_ih": (r.standard_normal(g * H) * 0.5).astype(np.float32),
        "b_hh": (r.standard_normal(g * H) * 0.5).astype(np.float32),
        "h0": r.standard_normal((N, H)).astype(np.float32),
        "c0": r.standard_normal((N, H)).astype(np.float32),
        "w": r.uniform(-1, 1, (N, T, H)).astype(np.float32),
    }
    return d


def library_bias(kind, d):
    if kind == "lstm":
        return (d["b_ih"] + d["b_hh"]).astype(np.float32)
    return np.stack([d["b_ih"], d["b_hh"]]).astype(np.float32)


def torch_module(kind, d, with_bias):
    if kind == "lstm":
        m = torch.nn.LSTM(FEAT, H, batch_first=True, bias=with_bias).double()
        perm = np.arange(4 * H)
    else:
        m = torch.nn.GRU(FEAT, H, batch_first=True, bias=with_bias).double()
        # PyTorch's r, z, n blocks from the library's z, r, n.
        perm = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 3 * H)])
    with torch.no_grad():
        m.weight_ih_l0.copy_(torch.from_numpy(d["w_ih"][:, perm].T.astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(d["w_hh"][:, perm].T.astype(np.float64)))
        if with_bias:
            m.bias_ih_l0.copy_(torch.from_numpy(d["b_ih"][perm].astype(np.float64)))
            m.bias_hh_l0.copy_(torch.from_numpy(d["b_hh"][perm].astype(np.float64)))
    return m, perm


def run_library(session, kind, d, ret_seq, reverse, with_state, with_bias, mask=None,
                rmask=None):
    hx = session.tensor(d["x"], watch=True)
    hi = session.tensor(d["w_ih"], watch=True)
    hh = session.tensor(d["w_hh"], watch=True)
    hb = session.tensor(library_bias(kind, d), watch=True) if with_bias else None
    h0 = session.tensor(d["h0"], watch=True) if with_state else None
    c0 = session.tensor(d["c0"], watch=True) if with_state and kind == "lstm" else None
    hm = session.tensor(mask)
    hr = session.tensor(rmask)
    if kind == "lstm":
        out = session.call("bgm_op_lstm", hx, hi, hh, hb, h0, c0, hm, hr, ret_seq, reverse)
    else:
        out = session.call("bgm_op_gru", hx, hi, hh, hb, h0, hm, hr, ret_seq, reverse)
    y = session.read(out)
    sources = [s for s in (hx, hi, hh, hb, h0, c0) if s is not None]
    w = d["w"] if ret_seq else d["w"][:, 0]
    return y, session.grads(out, w, sources)


def torch_grads(loss, tensors):
    loss.backward()
    return [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rnn_matches_torch_module(session, kind, case):
    ret_seq, reverse, with_state, with_bias = case
    d = make_weights(kind, 7)
    y, got = run_library(session, kind, d, ret_seq, reverse, with_state, with_bias)

    m, perm = torch_module(kind, d, with_bias)
    xt, h0t, c0t = t64(d["x"]), t64(d["h0"]), t64(d["c0"])
    seq, last = run_torch_module(m, xt, h0t if with_state else None,
                                 c0t if with_state and kind == "lstm" else None, reverse)
    yt = seq if ret_seq else last
    assert_close(y, yt.detach().numpy(), "y")

    w = d["w"] if ret_seq else d["w"][:, 0]
    loss = (yt * t64(w, grad=False)).sum()
    params = [xt, m.weight_ih_l0, m.weight_hh_l0]
    if with_bias:
        params += [m.bias_ih_l0, m.bias_hh_l0]
    if with_state:
        params += [h0t] + ([c0t] if kind == "lstm" else [])
    want = torch_grads(loss, params)
    inv = np.argsort(perm)
    assert_close(got[0], want[0], "grad x")
    assert_close(got[1], want[1].T[:, inv], "grad w_ih")
    assert_close(got[2], want[2].T[:, inv], "grad w_hh")
    k = 3
    if with_bias:
        if kind == "lstm":
            # One bias stands for both of PyTorch's: each gets the same gradient.
            assert_close(got[3], want[3][inv], "grad bias")
            assert_close(got[3], want[4][inv], "grad bias (hh)")
        else:
            assert_close(got[3], np.stack([want[3][inv], want[4][inv]]), "grad bias")
        k, want = 4, want[:3] + want[5:]
    if with_state:
        assert_close(got[k], want[3], "grad h0")
        if kind == "lstm":
            assert_close(got[k + 1], want[4], "grad c0")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_step_loop_reference_matches_torch_module(kind):
    d = make_weights(kind, 3)
    m, _ = torch_module(kind, d, True)
    xt, h0t, c0t = t64(d["x"], False), t64(d["h0"], False), t64(d["c0"], False)
    bias = t64(library_bias(kind, d), False)
    for reverse in (0, 1):
        seq, _ = run_torch_module(m, xt, h0t, c0t if kind == "lstm" else None, reverse)
        ref, _ = run_loop(kind, xt, t64(d["w_ih"], False), t64(d["w_hh"], False), bias, h0t,
                          c0t, None, None, reverse)
        assert_close(ref.detach().numpy(), seq.detach().numpy(), "loop")


MASK = np.array([[0, 0, 1, 1, 1],    # pre-padded
                 [1, 1, 1, 0, 0],    # post-padded
                 [1, 0, 1, 1, 0]], dtype=np.float32)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [0, 1], ids=["fwd", "rev"])
@pytest.mark.parametrize("ret_seq", [1, 0], ids=["seq", "last"])
@pytest.mark.parametrize("masks", ["mask", "recurrent", "both"])
def test_masked_rnn_matches_torch_step_loop(session, kind, reverse, ret_seq, masks):
    d = make_weights(kind, 11)
    r = np.random.default_rng(5)
    mask = MASK if masks != "recurrent" else None
    rmask = None
    if masks != "mask":
        rmask = ((r.uniform(size=(N, H)) > 0.3) / 0.7).astype(np.float32)
    y, got = run_library(session, kind, d, ret_seq, reverse, True, True, mask, rmask)

    xt, it, ht = t64(d["x"]), t64(d["w_ih"]), t64(d["w_hh"])
    bt, h0t, c0t = t64(library_bias(kind, d)), t64(d["h0"]), t64(d["c0"])
    seq, last = run_loop(kind, xt, it, ht, bt, h0t, c0t,
                         None if mask is None else t64(mask, False),
                         None if rmask is None else t64(rmask, False), reverse)
    yt = seq if ret_seq else last
    assert_close(y, yt.detach().numpy(), "y")
    w = d["w"] if ret_seq else d["w"][:, 0]
    tensors = [xt, it, ht, bt, h0t] + ([c0t] if kind == "lstm" else [])
    want = torch_grads((yt * t64(w, grad=False)).sum(), tensors)
    for name, g, wt in zip(["x", "w_ih", "w_hh", "bias", "h0", "c0"], got, want):
        assert_close(g, wt, "grad " + name)
