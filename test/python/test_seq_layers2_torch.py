"""Conv1D, PositionEmbedding, SinePositionEncoding and the Embedding's tied
output projection (bigmodel.layers, functional models) against PyTorch and
the keras_hub formulas on identical weights: outputs, the input gradient
and every weight gradient of L = sum(y * W), W fixed and random, recorded
with bm.GradientTape. Torch runs in float64 on the float32 weights; values
agree within 1e-4 of the largest reference value of each tensor.

Conv1D: Keras' kernel (K, C, F) is torch's conv1d weight (F, C, K) and NTC
sequences are torch's NCT. torch pads symmetrically, so every padding is
applied by hand with F.pad: CAUSAL pads dilation * (K - 1) steps on the
left, SAME as TensorFlow does (the odd step on the right).
"""
import numpy as np
import pytest

import bindings_path  # noqa: F401  (puts the bindings on sys.path)
import bigmodel as bm
from bigmodel import layers, ops
from cbridge import assert_close

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(1706)
RELU_CODE = {None: None, "relu": torch.relu, "tanh": torch.tanh}


@pytest.fixture(autouse=True)
def fresh_graph():
    bm.backend.clear_session()
    yield
    bm.backend.clear_session()


def t64(a):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=True)


def run_with_gradients(model, x, weight, watch_input=True):
    """model(x) on a tape, L = sum(model(x) * weight): the output, d L / d x
    (None unless watch_input) and d L / d each trainable weight."""
    xv = bm.Variable(x) if watch_input else x
    with bm.GradientTape() as tape:
        y = model(xv)
        loss = ops.reduce_sum(ops.multiply(y, weight.astype(np.float32)))
    sources = ([xv] if watch_input else []) + list(model.trainable_variables)
    grads = [g.numpy() for g in tape.gradient(loss, sources)]
    out = y.numpy()
    if watch_input:
        return out, grads[0], grads[1:]
    return out, None, grads


def tf_pads(t, k, s, d, padding):
    span = d * (k - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return span - 1, 0
    ot = -(-t // s)
    total = max((ot - 1) * s + span - t, 0)
    return total // 2, total - total // 2


CONV_CASES = [
    # padding, strides, dilation, use_bias, activation, (T, C, K, F)
    ("valid", 1, 1, True, None, (9, 3, 3, 4)),
    ("valid", 2, 1, True, "relu", (10, 3, 4, 5)),
    ("valid", 1, 3, False, None, (11, 2, 3, 3)),
    ("same", 1, 1, True, "tanh", (8, 4, 3, 4)),
    ("same", 3, 1, True, None, (10, 3, 4, 2)),
    ("same", 1, 2, True, None, (9, 2, 4, 3)),
    ("causal", 1, 1, True, None, (7, 3, 3, 4)),
    ("causal", 1, 4, True, "relu", (12, 2, 3, 3)),
    ("causal", 2, 1, False, None, (9, 3, 2, 4)),
]


@pytest.mark.parametrize("padding,strides,dilation,use_bias,activation,dims", CONV_CASES)
def test_conv1d_matches_torch_conv1d(padding, strides, dilation, use_bias, activation, dims):
    t, c, k, f = dims
    n = 3
    inp = bm.Input(shape=(t, c))
    conv = layers.Conv1D(f, k, strides=strides, padding=padding, dilation_rate=dilation,
                         activation=activation, use_bias=use_bias, name="conv")
    model = bm.Model(inp, conv(inp), seed=4)
    kernel = RNG.normal(0, 0.5, (k, c, f)).astype(np.float32)
    bias = RNG.normal(0, 0.5, (f,)).astype(np.float32)
    conv.set_weights([kernel, bias] if use_bias else [kernel])
    x = RNG.normal(0, 1, (n, t, c)).astype(np.float32)

    xt, kt, bt = t64(x), t64(kernel), t64(bias)
    left, right = tf_pads(t, k, strides, dilation, padding)
    xp = F.pad(xt.permute(0, 2, 1), (left, right))
    yt = F.conv1d(xp, kt.permute(2, 1, 0), bt if use_bias else None, stride=strides,
                  dilation=dilation).permute(0, 2, 1)
    if activation:
        yt = RELU_CODE[activation](yt)
    weight = RNG.normal(0, 1, tuple(yt.shape))
    (yt * torch.tensor(weight)).sum().backward()

    y, gx, gw = run_with_gradients(model, x, weight)
    assert y.shape == tuple(yt.shape)
    assert_close(y, yt.detach().numpy(), "Conv1D output")
    assert_close(gx, xt.grad.numpy(), "Conv1D input gradient")
    assert_close(gw[0], kt.grad.numpy(), "Conv1D kernel gradient")
    if use_bias:
        assert_close(gw[1], bt.grad.numpy(), "Conv1D bias gradient")


def test_conv1d_options_are_checked_and_its_config_is_keras():
    conv = layers.Conv1D(8, 5, strides=(2,), padding="causal", name="c")
    config = conv.get_config()
    assert config["kernel_size"] == [5] and config["strides"] == [2]
    assert config["padding"] == "causal" and config["dilation_rate"] == [1]
    assert config["filters"] == 8
    with pytest.raises(bm.InvalidArgumentError, match="'valid' or 'same' or 'causal'"):
        layers.Conv1D(8, 3, padding="full")
    with pytest.raises(bm.InvalidArgumentError, match="strides > 1 or dilation_rate > 1"):
        layers.Conv1D(8, 3, strides=2, dilation_rate=2)
    with pytest.raises(bm.InvalidArgumentError, match="padding must be 'valid' or 'same'"):
        layers.Conv2D(8, 3, padding="causal")


@pytest.mark.parametrize("t", [4, 9])
def test_position_embedding_adds_its_first_rows_and_gets_their_gradient(t):
    n, d, length = 2, 5, 9
    inp = bm.Input(shape=(t, d))
    pos = layers.PositionEmbedding(length, name="pos")
    model = bm.Model(inp, pos(inp), seed=1)
    table = RNG.normal(0, 1, (length, d)).astype(np.float32)
    pos.set_weights([table])
    assert pos.get_config()["sequence_length"] == length
    assert pos.get_config()["initializer"] == "glorot_uniform"
    x = RNG.normal(0, 1, (n, t, d)).astype(np.float32)

    tt = t64(table)
    yt = tt[:t].unsqueeze(0).expand(n, t, d)
    weight = RNG.normal(0, 1, (n, t, d))
    (yt * torch.tensor(weight)).sum().backward()
    y, _, gw = run_with_gradients(model, x, weight, watch_input=False)
    assert_close(y, yt.detach().numpy(), "PositionEmbedding output")
    assert_close(gw[0], tt.grad.numpy(), "PositionEmbedding table gradient")
    assert not gw[0][t:].any()  # rows past the input's length get nothing


def test_position_embedding_refuses_inputs_longer_than_its_sequence_length():
    inp = bm.Input(shape=(10, 4))
    with pytest.raises(bm.ShapeError, match="input of 10 steps, more than sequence_length = 8"):
        layers.PositionEmbedding(8)(inp)


def keras_hub_sines(t, d, max_wavelength, start=0):
    """keras_hub's SinePositionEncoding.call, in numpy float64."""
    positions = np.arange(t, dtype=np.float64) + start
    timescales = np.power(1.0 / max_wavelength, 2 * (np.arange(d) // 2) / d)
    angles = positions[:, None] * timescales[None, :]
    cos_mask = np.arange(d) % 2
    return np.sin(angles) * (1 - cos_mask) + np.cos(angles) * cos_mask


@pytest.mark.parametrize("d,max_wavelength", [(6, 10000), (7, 10000), (16, 50)])
def test_sine_position_encoding_is_the_keras_hub_formula(d, max_wavelength):
    t, n = 11, 3
    inp = bm.Input(shape=(t, d))
    sine = layers.SinePositionEncoding(max_wavelength)
    model = bm.Model(inp, sine(inp))
    assert model.count_params() == 0
    assert sine.get_config()["max_wavelength"] == max_wavelength
    y = model.predict(RNG.normal(0, 1, (n, t, d)).astype(np.float32))
    want = np.broadcast_to(keras_hub_sines(t, d, max_wavelength), (n, t, d))
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-6)


def masked_encoder(t, encoding):
    """ids -> Embedding(mask_zero) -> a position encoding -> LSTM."""
    ids = bm.Input(shape=(t,), dtype="int32")
    tok = layers.Embedding(7, 4, mask_zero=True, name="emb")(ids)
    out = layers.LSTM(3, name="lstm")(encoding()(tok))
    return bm.Model(ids, out, seed=5)


@pytest.mark.parametrize("encoding", [lambda: layers.PositionEmbedding(6, name="pos"),
                                      lambda: layers.SinePositionEncoding(100)])
def test_position_encodings_pass_the_mask_on(encoding):
    # The encodings of steps 3..5 are not zero: post-padded ids give what the
    # first three ids give only when the LSTM sees the Embedding's mask
    # through the encoding and skips those steps.
    long_model, short_model = masked_encoder(6, encoding), masked_encoder(3, encoding)
    short_model.set_weights(long_model.get_weights())
    padded = np.array([[3, 1, 5, 0, 0, 0], [2, 6, 4, 0, 0, 0]], np.int32)
    got = long_model.predict(padded)
    want = short_model.predict(padded[:, :3])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    unpadded = long_model.predict(np.array([[3, 1, 5, 2, 2, 2]], np.int32))
    assert np.abs(unpadded[0] - want[0]).max() > 1e-3  # the steps count when unmasked


@pytest.mark.parametrize("cls", [layers.Embedding, layers.ReversibleEmbedding])
def test_tied_output_projection_matches_torch(cls):
    n, t, vocab, d = 3, 5, 11, 6
    ids = bm.Input(shape=(t,), dtype="int32")
    emb = cls(vocab, d, name="tok")
    dense = layers.Dense(d, activation="tanh", name="hidden")
    logits = emb(dense(emb(ids)), reverse=True)
    model = bm.Model(ids, logits, seed=2)
    assert logits.shape == (None, t, vocab)
    assert model.count_params() == vocab * d + d * d + d  # the matrix once
    table = RNG.normal(0, 1, (vocab, d)).astype(np.float32)
    kernel = RNG.normal(0, 0.5, (d, d)).astype(np.float32)
    bias = RNG.normal(0, 0.5, (d,)).astype(np.float32)
    emb.set_weights([table])
    dense.set_weights([kernel, bias])
    x = RNG.integers(0, vocab, (n, t)).astype(np.int32)

    et, kt, bt = t64(table), t64(kernel), t64(bias)
    yt = torch.tanh(et[torch.tensor(x, dtype=torch.long)] @ kt + bt) @ et.T
    weight = RNG.normal(0, 1, (n, t, vocab))
    (yt * torch.tensor(weight)).sum().backward()
    y, _, grads = run_with_gradients(model, x, weight, watch_input=False)
    assert_close(y, yt.detach().numpy(), "tied logits")
    assert_close(grads[0], et.grad.numpy(), "tied embedding gradient (both uses)")
    assert_close(grads[1], kt.grad.numpy(), "hidden kernel gradient")
    assert_close(grads[2], bt.grad.numpy(), "hidden bias gradient")


def test_tied_projection_is_asked_for_explicitly_and_checks_its_dimension():
    ids = bm.Input(shape=(4,), dtype="int32")
    emb = layers.Embedding(9, 5)
    h = emb(ids)
    with pytest.raises(bm.InvalidArgumentError, match="call it with reverse=True"):
        emb(h)
    with pytest.raises(bm.InvalidArgumentError, match="got int32 token ids"):
        emb(ids, reverse=True)
    with pytest.raises(bm.ShapeError, match="last dimension must be the embedding "
                                            "dimension 5"):
        emb(layers.Dense(3)(h), reverse=True)
    with pytest.raises(bm.InvalidArgumentError, match="tie_weights=False"):
        layers.ReversibleEmbedding(9, 5, tie_weights=False)
