"""Sequence layers of bgm_model against PyTorch on the model's own weights:
LSTM, GRU and Bidirectional forward outputs (with and without
return_sequences) match nn.LSTM / nn.GRU, and an Embedding with mask_zero
followed by an LSTM gives, for pre-padded sequences, what nn.LSTM gives on
the unpadded ids. Values agree within 1e-4 relative to the largest
reference value.

Weight mapping: the library keeps Keras' kernels (F, G*H) and (H, G*H),
PyTorch their transposes; LSTM gates i, f, g, o on both sides (the library's
one bias goes to bias_ih, bias_hh is zero); GRU gates z, r, n in the library,
r, z, n in PyTorch, and the library's bias (2, 3H) holds bias_ih and bias_hh.
"""
import ctypes

import numpy as np
import pytest

from cbridge import I64, P, assert_close, declare_tensor_api, model_predict, to_numpy
from conftest import check

torch = pytest.importorskip("torch")

N, T, FEAT, H = 3, 6, 4, 5


@pytest.fixture(scope="module")
def api(lib):
    pp = ctypes.POINTER(P)
    c_int = ctypes.c_int
    declare_tensor_api(lib)
    lib.bgm_model_create.argtypes = [pp, ctypes.POINTER(I64), c_int, ctypes.c_uint64]
    lib.bgm_model_free.argtypes = [P]
    lib.bgm_model_add.argtypes = [P, P]
    lib.bgm_model_predict.argtypes = [pp, P, P, I64]
    lib.bgm_model_num_weights.argtypes = [P]
    lib.bgm_model_weight.argtypes = [P, c_int]
    lib.bgm_model_weight.restype = P
    for name in ("bgm_layer_lstm", "bgm_layer_gru"):
        getattr(lib, name).argtypes = [I64]
        getattr(lib, name).restype = P
    lib.bgm_layer_embedding.argtypes = [I64, I64]
    lib.bgm_layer_embedding.restype = P
    lib.bgm_layer_bidirectional.argtypes = [P]
    lib.bgm_layer_bidirectional.restype = P
    lib.bgm_layer_set_return_sequences.argtypes = [P, c_int]
    lib.bgm_layer_set_mask_zero.argtypes = [P, c_int]
    return lib


class Model:
    """A bgm_model of the given layers; predict and weights as numpy arrays."""

    def __init__(self, lib, input_shape, layers):
        self.lib = lib
        self.m = P()
        shape = (I64 * len(input_shape))(*input_shape)
        check(lib, lib.bgm_model_create(ctypes.byref(self.m), shape, len(input_shape), 7))
        for layer in layers:
            check(lib, lib.bgm_model_add(self.m, layer))

    def weights(self):
        return [to_numpy(self.lib, self.lib.bgm_model_weight(self.m, i))
                for i in range(self.lib.bgm_model_num_weights(self.m))]

    def predict(self, x):
        return model_predict(self.lib, self.m, x)

    def close(self):
        self.lib.bgm_model_free(self.m)


def recurrent(lib, kind, return_sequences=False):
    layer = getattr(lib, "bgm_layer_" + kind)(H)
    check(lib, lib.bgm_layer_set_return_sequences(layer, int(return_sequences)))
    return layer


def swap_zr(a, h):
    """Keras' z, r, n gate blocks (last axis) to PyTorch's r, z, n."""
    a = np.array(a)
    z, r = a[..., :h].copy(), a[..., h:2 * h].copy()
    a[..., :h], a[..., h:2 * h] = r, z
    return a


def load_direction(module, kind, w, suffix):
    """Copies one direction's (kernel, recurrent kernel, bias) into module."""
    kernel, rec, bias = w
    if kind == "gru":
        kernel, rec, bias = swap_zr(kernel, H), swap_zr(rec, H), swap_zr(bias, H)
        b_ih, b_hh = bias[0], bias[1]
    else:
        b_ih, b_hh = bias, np.zeros_like(bias)
    params = dict(module.named_parameters())
    with torch.no_grad():
        for name, value in (("weight_ih_l0", kernel.T), ("weight_hh_l0", rec.T),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            params[name + suffix].copy_(torch.from_numpy(np.asarray(value, np.float64)))


def torch_rnn(kind, feat, w, bidirectional=False):
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    module = cls(feat, H, batch_first=True, bidirectional=bidirectional).double()
    load_direction(module, kind, w[:3], "")
    if bidirectional:
        load_direction(module, kind, w[3:], "_reverse")
    return module


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_layer_matches_torch(api, kind, return_sequences):
    x = np.random.default_rng(3).standard_normal((N, T, FEAT)).astype(np.float32)
    m = Model(api, (T, FEAT), [recurrent(api, kind, return_sequences)])
    try:
        got, w = m.predict(x), m.weights()
    finally:
        m.close()
    out, _ = torch_rnn(kind, FEAT, w)(torch.from_numpy(x.astype(np.float64)))
    want = out.detach().numpy()
    assert_close(got, want if return_sequences else want[:, -1], kind)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_layer_matches_torch(api, kind, return_sequences):
    x = np.random.default_rng(4).standard_normal((N, T, FEAT)).astype(np.float32)
    layer = api.bgm_layer_bidirectional(recurrent(api, kind, return_sequences))
    m = Model(api, (T, FEAT), [layer])
    try:
        got, w = m.predict(x), m.weights()
    finally:
        m.close()
    out, _ = torch_rnn(kind, FEAT, w, bidirectional=True)(
        torch.from_numpy(x.astype(np.float64)))
    want = out.detach().numpy()
    if not return_sequences:
        # the forward half ends at the last step, the reversed one at the first
        want = np.concatenate([want[:, -1, :H], want[:, 0, H:]], axis=1)
    assert_close(got, want, "bidirectional " + kind)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_masked_embedding_model_matches_torch_on_unpadded_ids(api, kind):
    vocab, dim = 11, FEAT
    ids = np.array([[0, 0, 0, 4, 7, 1], [3, 9, 10, 2, 2, 5], [0, 0, 0, 0, 0, 8]],
                   dtype=np.int32)
    emb = api.bgm_layer_embedding(vocab, dim)
    check(api, api.bgm_layer_set_mask_zero(emb, 1))
    m = Model(api, (T,), [emb, recurrent(api, kind)])
    try:
        got, w = m.predict(ids), m.weights()
    finally:
        m.close()
    table, rnn = w[0].astype(np.float64), torch_rnn(kind, dim, w[1:])
    for n in range(N):
        seq = ids[n][ids[n] != 0]
        out, _ = rnn(torch.from_numpy(table[seq][None]))
        assert_close(got[n], out.detach().numpy()[0, -1], "%s sample %d" % (kind, n))
