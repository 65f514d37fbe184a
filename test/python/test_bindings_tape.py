"""GradientTape from Python: gradients against PyTorch and hand values,
operator overloads, watch, and the tape's memory rules."""
import gc

import numpy as np
import pytest
import torch

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib, ops


def test_line_fit_gradient_matches_hand_values():
    x = bm.Tensor([0.0, 1.0, 2.0, 3.0])
    y = bm.Tensor([1.0, 3.0, 5.0, 7.0])
    w, b = bm.Variable(0.5), bm.Variable(0.0)
    with bm.GradientTape() as tape:
        loss = ops.reduce_mean((x * w + b - y) ** 2)
    dw, db = tape.gradient(loss, [w, b])
    # residuals r = 0.5x - y = [-1, -2.5, -4, -5.5]; dL/dw = mean(2 r x), dL/db = mean(2 r)
    assert loss.item() == pytest.approx((1 + 6.25 + 16 + 30.25) / 4)
    assert dw.item() == pytest.approx(2 * (0 - 2.5 - 8 - 16.5) / 4)
    assert db.item() == pytest.approx(2 * (-1 - 2.5 - 4 - 5.5) / 4)


def test_mlp_gradients_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    w1 = rng.standard_normal((5, 7)).astype(np.float32)
    b1 = rng.standard_normal((7,)).astype(np.float32)
    w2 = rng.standard_normal((7, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 8).astype(np.int32)
    onehot = np.eye(3, dtype=np.float32)[labels]

    params = [bm.Variable(a) for a in (w1, b1, w2)]
    with bm.GradientTape() as tape:
        h = ops.tanh(bm.Tensor(x) @ params[0] + params[1])
        logits = ops.matmul(ops.relu(h), params[2]) / 2.0
        loss = -ops.reduce_mean(ops.reduce_sum(ops.log_softmax(logits) * onehot, axis=1))
    grads = tape.gradient(loss, params)

    tp = [torch.tensor(a, requires_grad=True) for a in (w1, b1, w2)]
    th = torch.tanh(torch.tensor(x) @ tp[0] + tp[1])
    tlogits = torch.relu(th) @ tp[2] / 2.0
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(labels).long())
    tloss.backward()
    assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    for g, t in zip(grads, tp):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_numpy_operands_and_reflected_operators_are_recorded():
    w = bm.Variable([1.0, 2.0])
    with bm.GradientTape() as tape:
        z = 3.0 - w                    # __rsub__
        z = 1.0 / z                    # __rtruediv__
        z = np.float32(2.0) * z        # numpy scalar on the left
        loss = ops.reduce_sum(-z + z * z)
    (dw,) = tape.gradient(loss, [w])
    wt = torch.tensor([1.0, 2.0], requires_grad=True)
    zt = 2.0 * (1.0 / (3.0 - wt))
    (-zt + zt * zt).sum().backward()
    np.testing.assert_allclose(dw.numpy(), wt.grad.numpy(), rtol=1e-6)


def test_watch_makes_a_plain_tensor_a_source():
    x = bm.Tensor([1.0, 2.0, 3.0])
    with bm.GradientTape() as tape:
        tape.watch(x)
        loss = ops.reduce_sum(ops.exp(x))
    assert tape.gradient(loss, x).numpy() == pytest.approx(np.exp([1.0, 2.0, 3.0]))


def test_unconnected_source_gets_zeros():
    a, b = bm.Variable([1.0, 1.0]), bm.Variable([[5.0]])
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(a * a)
    ga, gb = tape.gradient(loss, [a, b])
    assert ga.tolist() == [2.0, 2.0] and gb.tolist() == [[0.0]]


def test_reductions_softmax_and_shapes_match_torch():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x = bm.Variable(a)
    with bm.GradientTape() as tape:
        s = ops.softmax(x, axis=1)
        p = ops.permute(s, [2, 0, 1])
        r = ops.reshape(p, (4, 6))
        c = ops.concat([r, ops.slice(r, 1, 3, axis=1)], axis=1)
        loss = ops.reduce_max(ops.reduce_mean(c * c, axis=0)) + ops.reduce_sum(
            ops.sigmoid(x[1]))
    (g,) = tape.gradient(loss, [x])
    xt = torch.tensor(a, requires_grad=True)
    st = torch.softmax(xt, 1).permute(2, 0, 1).reshape(4, 6)
    ct = torch.cat([st, st[:, 1:3]], 1)
    ((ct * ct).mean(0).max() + torch.sigmoid(xt[1]).sum()).backward()
    np.testing.assert_allclose(g.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_sparse_crossentropy_from_logits_matches_torch():
    logits = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], dtype=np.float32)
    w = bm.Variable(logits)
    with bm.GradientTape() as tape:
        loss = ops.sparse_categorical_crossentropy(w, [2, 0], from_logits=True)
    (g,) = tape.gradient(loss, [w])
    t = torch.tensor(logits, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor([2, 0]))
    tl.backward()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-6)
    np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-5)


def test_conv_pool_batch_norm_gradients_match_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    kv, bv = bm.Variable(k), bm.Variable(bias)
    gamma = bm.Variable(np.full(4, 1.5, np.float32))
    mean, var = bm.zeros(4), bm.ones(4)
    with bm.GradientTape() as tape:
        y = ops.conv2d(x, kv, bv, strides=1, padding="same")
        y = ops.batch_norm(y, gamma, None, mean, var, momentum=0.9, epsilon=1e-3,
                           training=True)
        y = ops.max_pool2d(ops.relu(y), 2)
        loss = ops.reduce_sum(ops.global_avg_pool2d(y) ** 2)
    gk, gb, gg = tape.gradient(loss, [kv, bv, gamma])

    xt = torch.tensor(x).permute(0, 3, 1, 2)
    kt = torch.tensor(k, requires_grad=True)
    bt = torch.tensor(bias, requires_grad=True)
    gt = torch.tensor(np.full(4, 1.5, np.float32), requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, kt.permute(3, 2, 0, 1), bt, padding=1)
    rm, rv = torch.zeros(4), torch.ones(4)
    yt = torch.nn.functional.batch_norm(yt, rm, rv, gt, None, True, 0.1, 1e-3)
    yt = torch.nn.functional.max_pool2d(torch.relu(yt), 2)
    (yt.mean((2, 3)) ** 2).sum().backward()
    for ours, theirs in ((gk, kt), (gb, bt), (gg, gt)):
        np.testing.assert_allclose(ours.numpy(), theirs.grad.numpy(), rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(mean.numpy(), rm.numpy(), rtol=1e-4, atol=1e-6)


def test_dropout_is_deterministic_per_generator_seed():
    x = bm.ones((1000,))
    a = ops.dropout(x, 0.5, bm.Generator(3)).numpy()
    b = ops.dropout(x, 0.5, bm.Generator(3)).numpy()
    assert np.array_equal(a, b) and set(np.unique(a)) == {0.0, 2.0}
    assert ops.dropout(x, 0.5, training=False).numpy().min() == 1.0


def test_results_belong_to_the_tape_and_outlive_a_reset():
    w = bm.Variable([2.0])
    tape = bm.GradientTape()
    with tape:
        loss = ops.reduce_sum(w * w)
    assert loss.tape_owned
    grad = tape.gradient(loss, w)
    view = grad.numpy()
    with tape:  # a new recording; the old results are still referenced
        loss2 = ops.reduce_sum(w * 3.0)
    assert loss.item() == 4.0 and view.tolist() == [4.0]
    assert tape.gradient(loss2, w).tolist() == [3.0]


def test_reset_reuses_memory_when_no_result_is_referenced():
    w = bm.Variable([1.0])
    tape = bm.GradientTape()
    with tape:
        ops.reduce_sum(w * w)
    memory = tape._memory
    gc.collect()
    with tape:
        loss = ops.reduce_sum(w + w)
    assert tape._memory is memory
    assert tape.gradient(loss, w).tolist() == [2.0]


def test_old_tape_memory_is_freed_with_its_last_tensor():
    before = _lib.live.get("tape", 0)
    w = bm.Variable([1.0])
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(w * w)
    del tape
    assert _lib.live["tape"] == before + 1  # loss still holds the tape's memory
    assert loss.item() == 1.0
    del loss
    gc.collect()
    assert _lib.live["tape"] == before


def test_closing_a_tape_result_does_not_free_tape_memory():
    w = bm.Variable([1.0, 2.0])
    with bm.GradientTape() as tape:
        y = w * 2.0
        loss = ops.reduce_sum(y)
    y.close()
    assert tape.gradient(loss, w).tolist() == [2.0, 2.0]


def test_inputs_are_kept_alive_while_the_tape_needs_them():
    w = bm.Variable([3.0])
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(w * bm.Tensor(np.array([5.0], np.float32)))
    gc.collect()  # the temporary Tensor is only referenced by the tape now
    assert tape.gradient(loss, w).tolist() == [5.0]


def test_nothing_is_recorded_outside_the_block_or_when_stopped():
    w = bm.Variable([1.0])
    with bm.GradientTape() as tape:
        inside = w * 2.0
        with tape.stop_recording():
            stopped = w * 2.0
    outside = w * 2.0
    assert inside.tape_owned and not stopped.tape_owned and not outside.tape_owned
    assert not tape.recording


def test_nested_tapes_record_on_the_innermost():
    w = bm.Variable([1.0])
    with bm.GradientTape() as outer:
        with bm.GradientTape() as inner:
            y = w * 5.0
        z = w * 7.0
    assert inner.gradient(ops.reduce_sum(y, tape=inner), w).tolist() == [5.0]
    assert outer.gradient(ops.reduce_sum(z, tape=outer), w).tolist() == [7.0]


def test_gradient_of_a_non_scalar_is_a_shape_error():
    w = bm.Variable([1.0, 2.0])
    with bm.GradientTape() as tape:
        y = w * w
    with pytest.raises(bm.ShapeError, match=r"the loss must have one element, it has "
                                            r"shape \(2,\)"):
        tape.gradient(y, [w])


def test_gradient_of_a_loss_from_another_tape_is_a_state_error():
    w = bm.Variable([1.0])
    with bm.GradientTape():
        loss = ops.reduce_sum(w)
    with pytest.raises(bm.StateError, match="not computed by an operation recorded on "
                                            "this tape"):
        other = bm.GradientTape()
        other.watch(w)
        other.gradient(loss, [w])


def test_empty_tape_and_bad_arguments():
    with pytest.raises(bm.StateError, match="nothing was recorded"):
        bm.GradientTape().gradient(bm.ones(()), [bm.ones(())])
    with pytest.raises(bm.InvalidArgumentError, match="watch: expected Tensors, got float"):
        bm.GradientTape().watch([[1.0]])
    with pytest.raises(bm.DTypeError, match="float32"):
        bm.GradientTape().watch(bm.Tensor([1, 2]))


def test_ops_reject_int32_and_mismatched_shapes_with_messages():
    with pytest.raises(bm.DTypeError):
        ops.add(bm.Tensor([1, 2]), bm.Tensor([1, 2]))
    with pytest.raises(bm.ShapeError, match=r"shapes \(2,\) and \(3,\) do not broadcast"):
        ops.add([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(bm.InvalidArgumentError, match="padding must be 'valid' or 'same'"):
        ops.max_pool2d(bm.zeros((1, 4, 4, 1)), padding="full")
