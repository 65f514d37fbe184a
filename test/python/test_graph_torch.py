"""Graph models (Keras' functional API in C, bigmodel/graph.h) against PyTorch
on identical weights: built through ctypes with bgm_graph_input /
bgm_layer_call / bgm_model_create_graph, run in training mode on a tape
(bgm_model_forward, bgm_model_forward_multi) with a loss built from bgm_op_*
on the same tape, differentiated with bgm_tape_gradient with respect to
bgm_model_trainable_params and the inputs, and at inference with
bgm_model_predict_multi.

- a residual block with a projection shortcut and BatchNorm in training mode
  (Keras' SAME padding with stride 2 pads more at the bottom / right: torch
  gets it through F.pad): outputs, the loss, every weight gradient, the
  input gradient, the moving statistics after the step, and the outputs at
  inference with them;
- a model of two inputs and two outputs trained on w1 * MSE + w2 * sparse
  categorical cross-entropy (from logits): outputs, both losses, every weight
  gradient, both input gradients; predict_multi against torch's eval mode;
- a Siamese model, one Dense layer called on both inputs: its gradient is the
  sum of both calls' (and far from either call's alone).

Torch modules start from torch's initialization with random BatchNorm
parameters and moving statistics, rounded to float32, and run in float64;
cbridge.keras_weights maps them (and their gradients) to our names
("<layer>/<weight>", the layers named as the torch children) and layouts:
Conv2D kernels (KH, KW, C, F) for torch's (F, C, KH, KW), Dense kernels
(in, out) for (out, in), images NHWC for NCHW. Everything agrees within
1e-4 of the largest reference value of each tensor.

BatchNorm: Keras' momentum 0.99 is torch's 0.01, epsilon 1e-3 in both. Our
moving variance takes the unbiased batch variance (M / (M - 1), M values per
channel), as torch's running_var does; Keras itself feeds the biased one
(tf.nn.moments; bigmodel/nn_ops.h documents the choice), so torch is the
reference here. Besides the statistics, their updates (after - before, 1%
of them) are compared, where the factor M / (M - 1) shows even for large M.
A Conv2D's bias right before a BatchNorm in training mode has a gradient of
exactly zero (the batch mean takes it out): those are compared relative to
their kernel's gradient instead of their own (zero) scale.
"""
import copy

import numpy as np
import pytest

from cbridge import (Graph, assert_close, declare_graph_api, keras_weights, make_layer, t64,
                     tf_same_pads)

torch = pytest.importorskip("torch")
F = torch.nn.functional
nn = torch.nn

LINEAR, RELU, TANH = 0, 1, 3
SAME = 1

RNG = np.random.default_rng(2024)

# largest relative error seen per compared quantity (pytest -s prints them)
MAX_ERR = {}


@pytest.fixture(scope="module")
def api(lib):
    yield declare_graph_api(lib)
    for what, err in sorted(MAX_ERR.items()):
        print("test_graph_torch: %-44s max relative error %.2e" % (what, err))


def close(got, want, what, scale=None):
    err = assert_close(np.asarray(got), want, what, scale=scale)
    MAX_ERR[what] = max(MAX_ERR.get(what, 0.0), err)


def bn2d(c):
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def randomized(module, seed):
    """module with torch's initial weights for seed, random BatchNorm
    parameters and moving statistics, rounded to float32, in float64."""
    torch.manual_seed(seed)
    module = module()
    with torch.no_grad():
        for mod in module.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.5)
                mod.running_mean.normal_(0, 1)
                mod.running_var.uniform_(0.5, 2)
    return module.double()


def f32(shape, low=-1, high=1):
    return RNG.uniform(low, high, shape).astype(np.float32)


def compare_moving(before, after, ref_after, what):
    """The moving statistics after a training step, and their updates
    (after - before, about 1% of the values: a biased batch variance or
    another momentum shows there), against torch's running ones."""
    for name in ref_after:
        if "/moving_" in name:
            close(after[name], ref_after[name], "%s: %s" % (what, name.split("/")[1]))
            close(after[name] - before[name], ref_after[name] - before[name],
                  "%s: update of %s" % (what, name.split("/")[1]))


def compare_grads(got, want, zero_by_bn=()):
    """Every trainable weight's gradient, named alike on both sides."""
    assert sorted(got) == sorted(want)
    for name in want:
        scale = None
        if name in zero_by_bn:
            scale = np.abs(want[name.replace("/bias", "/kernel")]).max()
            assert np.abs(want[name]).max() < 1e-9 * scale  # zero in exact arithmetic
        close(got[name], want[name], "gradient " + name, scale=scale)


# ---- a residual block with a projection shortcut --------------------------------

def same_pad(x, k, s):
    """Keras' SAME padding of NCHW x for a k x k window and stride s."""
    top, bottom = tf_same_pads(x.shape[2], k, s)
    left, right = tf_same_pads(x.shape[3], k, s)
    return F.pad(x, (left, right, top, bottom))


class TorchResidual(nn.Module):
    """x -> conv_a 3x3 / 2 SAME -> bn_a -> relu -> conv_b 3x3 SAME -> bn_b;
    x -> conv_s 1x1 / 2 -> bn_s; relu of the sum. NCHW."""
    C, FILTERS = 3, 5

    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv2d(self.C, self.FILTERS, 3, stride=2)
        self.bn_a = bn2d(self.FILTERS)
        self.conv_b = nn.Conv2d(self.FILTERS, self.FILTERS, 3)
        self.bn_b = bn2d(self.FILTERS)
        self.conv_s = nn.Conv2d(self.C, self.FILTERS, 1, stride=2)
        self.bn_s = bn2d(self.FILTERS)

    def forward(self, x):
        h = F.relu(self.bn_a(self.conv_a(same_pad(x, 3, 2))))
        h = self.bn_b(self.conv_b(same_pad(h, 3, 1)))
        return F.relu(h + self.bn_s(self.conv_s(x)))


def residual_model(api, shape):
    """Our residual block on images of shape (H, W, C), Keras' defaults for
    BatchNormalization (momentum 0.99, epsilon 1e-3)."""
    f = TorchResidual.FILTERS
    g = Graph(api)
    x = g.input(shape, "image")
    h = g(make_layer(api, "conv2d", f, 3, LINEAR, name="conv_a", strides=(2, 2),
                     padding=SAME), x)
    h = g(make_layer(api, "batch_norm", name="bn_a"), h)
    h = g(make_layer(api, "activation", RELU), h)
    h = g(make_layer(api, "conv2d", f, 3, LINEAR, name="conv_b", padding=SAME), h)
    h = g(make_layer(api, "batch_norm", name="bn_b"), h)
    s = g(make_layer(api, "conv2d", f, 1, LINEAR, name="conv_s", strides=(2, 2)), x)
    s = g(make_layer(api, "batch_norm", name="bn_s"), s)
    y = g(make_layer(api, "activation", RELU), g(make_layer(api, "add"), h, s))
    model = g.model([x], [y], seed=5)
    g.close()
    return model


def nchw(t):
    return t.permute(0, 3, 1, 2)


def nhwc(t):
    return t.permute(0, 2, 3, 1)


# (H, W): even sizes make SAME with stride 2 pad one cell, at the bottom / right
@pytest.mark.parametrize("size", [(8, 10), (7, 6)])
def test_residual_block_with_batch_norm_in_training_matches_torch(api, size):
    x = RNG.normal(0, 1, (4,) + size + (TorchResidual.C,)).astype(np.float32)
    ref = randomized(TorchResidual, seed=1)
    ours = residual_model(api, x.shape[1:])
    try:
        before = keras_weights(ref)
        ours.set_weights(before)
        out_shape = (4, -(-size[0] // 2), -(-size[1] // 2), TorchResidual.FILTERS)
        r = f32(out_shape)
        step = ours.train_step([x], lambda s, outs: {"loss": s.weighted_sum(outs[0], r)},
                               training=1)

        xt = t64(x)
        ref.train()
        yt = nhwc(ref(nchw(xt)))
        loss = (yt * t64(r, grad=False)).sum()
        loss.backward()

        close(step.outputs[0], yt.detach().numpy(), "residual: training output")
        close(step.values["loss"], loss.item(), "residual: loss")
        compare_grads(step.grads, keras_weights(ref, grads=True),
                      zero_by_bn=("conv_a/bias", "conv_b/bias", "conv_s/bias"))
        close(step.input_grads[0], xt.grad.numpy(), "residual: input gradient")

        # the step moved the moving statistics as torch's running ones
        compare_moving(before, ours.weights(), keras_weights(ref), "residual")
        # and inference uses them
        ref.eval()
        with torch.no_grad():
            close(ours.predict([x], batch_size=3)[0], nhwc(ref(nchw(t64(x, grad=False)))),
                  "residual: predict after the step")
    finally:
        ours.close()


# ---- two inputs, two outputs, two losses -------------------------------------------

class TorchTwoHeads(nn.Module):
    """a (8) -> dense_a relu, b (5) -> dense_b relu, concatenated -> trunk
    relu -> trunk_bn -> reg (2, linear) and cls (3 logits)."""

    def __init__(self):
        super().__init__()
        self.dense_a = nn.Linear(8, 6)
        self.dense_b = nn.Linear(5, 6)
        self.trunk = nn.Linear(12, 10)
        self.trunk_bn = nn.BatchNorm1d(10, eps=1e-3, momentum=0.01)
        self.reg = nn.Linear(10, 2)
        self.cls = nn.Linear(10, 3)

    def forward(self, a, b):
        h = torch.cat([F.relu(self.dense_a(a)), F.relu(self.dense_b(b))], dim=-1)
        h = self.trunk_bn(F.relu(self.trunk(h)))
        return self.reg(h), self.cls(h)


def two_heads_model(api):
    g = Graph(api)
    a, b = g.input((8,), "a"), g.input((5,), "b")
    ha = g(make_layer(api, "dense", 6, RELU, name="dense_a"), a)
    hb = g(make_layer(api, "dense", 6, RELU, name="dense_b"), b)
    h = g(make_layer(api, "concatenate", -1, name="concat"), ha, hb)
    h = g(make_layer(api, "dense", 10, RELU, name="trunk"), h)
    h = g(make_layer(api, "batch_norm", name="trunk_bn"), h)
    reg = g(make_layer(api, "dense", 2, LINEAR, name="reg"), h)
    cls = g(make_layer(api, "dense", 3, LINEAR, name="cls"), h)
    model = g.model([a, b], [reg, cls], seed=7)
    g.close()
    return model


W1, W2 = 0.7, 1.3


def test_two_inputs_two_outputs_two_losses_match_torch(api):
    n = 6
    a, b = RNG.normal(0, 1, (n, 8)).astype(np.float32), RNG.normal(0, 1, (n, 5)).astype(
        np.float32)
    target = RNG.normal(0, 1, (n, 2)).astype(np.float32)
    labels = RNG.integers(0, 3, n).astype(np.int32)
    ref = randomized(TorchTwoHeads, seed=2)
    ours = two_heads_model(api)

    def losses(s, outs):
        mse = s.call("bgm_op_mse_loss", outs[0], s.tensor(target))
        scce = s.call("bgm_op_sparse_categorical_crossentropy", outs[1], s.tensor(labels), 1)
        total = s.call("bgm_op_add", s.call("bgm_op_scale", mse, W1),
                       s.call("bgm_op_scale", scce, W2))
        return {"loss": total, "mse": mse, "scce": scce}

    try:
        assert ours.weight_names()[:4] == ["dense_a/kernel", "dense_a/bias", "dense_b/kernel",
                                           "dense_b/bias"]
        before = keras_weights(ref)
        ours.set_weights(before)
        step = ours.train_step([a, b], losses, training=1)

        at, bt = t64(a), t64(b)
        ref.train()
        reg, logits = ref(at, bt)
        mse = F.mse_loss(reg, t64(target, grad=False))
        scce = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))
        total = W1 * mse + W2 * scce
        total.backward()

        close(step.outputs[0], reg.detach().numpy(), "two heads: regression output")
        close(step.outputs[1], logits.detach().numpy(), "two heads: logits")
        close(step.values["mse"], mse.item(), "two heads: MSE loss")
        close(step.values["scce"], scce.item(), "two heads: cross-entropy loss")
        close(step.values["loss"], total.item(), "two heads: total loss")
        compare_grads(step.grads, keras_weights(ref, grads=True))
        close(step.input_grads[0], at.grad.numpy(), "two heads: gradient of input a")
        close(step.input_grads[1], bt.grad.numpy(), "two heads: gradient of input b")
        compare_moving(before, ours.weights(), keras_weights(ref), "two heads")
    finally:
        ours.close()


def test_predict_multi_matches_torch_eval_mode(api):
    n = 10
    a, b = RNG.normal(0, 1, (n, 8)).astype(np.float32), RNG.normal(0, 1, (n, 5)).astype(
        np.float32)
    ref = randomized(TorchTwoHeads, seed=3).eval()
    ours = two_heads_model(api)
    try:
        ours.set_weights(keras_weights(ref))
        with torch.no_grad():
            want = ref(t64(a, grad=False), t64(b, grad=False))
            train_mode = copy.deepcopy(ref).train()(t64(a, grad=False), t64(b, grad=False))
        for batch_size in (0, 4):  # one batch of all 10, and 4 + 4 + 2
            got = ours.predict([a, b], batch_size=batch_size)
            assert len(got) == 2
            close(got[0], want[0].numpy(), "predict_multi: regression output")
            close(got[1], want[1].numpy(), "predict_multi: logits")
        # the moving statistics matter: batch statistics give something else
        assert np.abs(got[1] - train_mode[1].numpy()).max() > 1e-2
    finally:
        ours.close()


# ---- a shared layer ------------------------------------------------------------

class TorchSiamese(nn.Module):
    """One Linear (tanh) on both inputs; head on [ha - hb, ha * hb]."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(4, 3)
        self.head = nn.Linear(6, 2)

    def forward(self, a, b, shared_b=None):
        ha = torch.tanh(self.shared(a))
        hb = torch.tanh((self.shared if shared_b is None else shared_b)(b))
        return self.head(torch.cat([ha - hb, ha * hb], dim=-1))


def siamese_model(api):
    g = Graph(api)
    a, b = g.input((4,), "left"), g.input((4,), "right")
    shared = make_layer(api, "dense", 3, TANH, name="shared")
    ha, hb = g(shared, a), g(shared, b)
    h = g(make_layer(api, "concatenate", -1), g(make_layer(api, "subtract"), ha, hb),
          g(make_layer(api, "multiply"), ha, hb))
    model = g.model([a, b], [g(make_layer(api, "dense", 2, LINEAR, name="head"), h)], seed=9)
    g.close()
    return model


def test_shared_layer_sums_the_gradients_of_both_calls_as_torch(api):
    n = 5
    a, b = RNG.normal(0, 1, (n, 4)).astype(np.float32), RNG.normal(0, 1, (n, 4)).astype(
        np.float32)
    r = f32((n, 2))
    ref = randomized(TorchSiamese, seed=4)
    ours = siamese_model(api)
    try:
        assert ours.weight_names() == ["shared/kernel", "shared/bias", "head/kernel",
                                       "head/bias"]
        ours.set_weights(keras_weights(ref))
        step = ours.train_step([a, b], lambda s, outs: {"loss": s.weighted_sum(outs[0], r)})

        at, bt = t64(a), t64(b)
        yt = ref(at, bt)
        (yt * t64(r, grad=False)).sum().backward()
        close(step.outputs[0], yt.detach().numpy(), "siamese: output")
        want = keras_weights(ref, grads=True)
        compare_grads(step.grads, want)
        close(step.input_grads[0], at.grad.numpy(), "siamese: gradient of input a")
        close(step.input_grads[1], bt.grad.numpy(), "siamese: gradient of input b")

        # the call on a alone (b through a frozen copy) gives another gradient
        ref.zero_grad()
        frozen = nn.Linear(4, 3).double().requires_grad_(False)
        frozen.load_state_dict(ref.shared.state_dict())
        (ref(t64(a), t64(b), shared_b=frozen) * t64(r, grad=False)).sum().backward()
        one_call = keras_weights(ref, grads=True)["shared/kernel"]
        gap = np.abs(step.grads["shared/kernel"] - one_call).max()
        assert gap > 0.1 * np.abs(want["shared/kernel"]).max()
    finally:
        ours.close()
