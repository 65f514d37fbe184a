"""Optimizers and schedules from Python against torch.optim."""
import numpy as np
import pytest
import torch

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import ops, optimizers
from bigmodel.optim import schedules

W0 = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]], dtype=np.float32)


def run_ours(opt, steps=5):
    w = bm.Variable(W0)
    x = bm.Tensor(X)
    for _ in range(steps):
        with bm.GradientTape() as tape:
            loss = ops.reduce_mean(ops.tanh(x @ w) ** 2)
        opt.apply(tape.gradient(loss, [w]), [w])
    return w.numpy()


def run_torch(make, steps=5):
    w = torch.tensor(W0, requires_grad=True)
    opt = make([w])
    for _ in range(steps):
        opt.zero_grad()
        torch.tanh(torch.tensor(X) @ w).pow(2).mean().backward()
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize("ours, theirs", [
    (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    (lambda: optimizers.Adam(0.05, epsilon=1e-8),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-8)),
    (lambda: optimizers.AdamW(0.05, weight_decay=0.1, epsilon=1e-8),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=1e-8)),
    (lambda: optimizers.RMSprop(0.01, rho=0.9, momentum=0.5, epsilon=1e-8),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, eps=1e-8)),
])
def test_updates_match_torch(ours, theirs):
    np.testing.assert_allclose(run_ours(ours()), run_torch(theirs), rtol=1e-5, atol=1e-6)


def test_apply_gradients_step_and_iterations():
    opt = optimizers.SGD(0.5)
    w = bm.Variable([1.0, 2.0])
    opt.apply_gradients(zip([bm.Tensor([1.0, 1.0])], [w]))
    opt.step([w], [bm.Tensor([2.0, 0.0])])
    assert w.tolist() == [-0.5, 1.5] and opt.iterations == 2


def test_numpy_parameters_are_updated_in_place():
    p = np.array([1.0, 1.0], dtype=np.float32)
    optimizers.SGD(0.25).apply([np.array([4.0, -4.0], dtype=np.float32)], [p])
    assert p.tolist() == [0.0, 2.0]


def test_parameters_that_would_be_copied_are_refused():
    with pytest.raises(bm.DTypeError, match=r"params\[0\] must be a float32 Tensor"):
        optimizers.SGD().apply([[1.0]], [np.array([1.0])])  # float64: a copy


def test_schedule_drives_the_learning_rate():
    sched = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    assert [round(sched(s), 6) for s in range(3)] == [0.1, 0.05, 0.025]
    opt = optimizers.SGD(sched)
    w = bm.Variable([0.0])
    for _ in range(3):
        opt.apply([bm.Tensor([1.0])], [w])
    assert w.item() == pytest.approx(-0.175) and opt.learning_rate == pytest.approx(0.025)
    cos = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert cos(2) == pytest.approx(0.5) and cos(4) == pytest.approx(1.0)
    assert schedules.StepDecay(1.0, 2, 0.1)(5) == pytest.approx(0.01)


def test_python_schedule_is_called_and_its_errors_propagate():
    opt = optimizers.SGD(schedules.LambdaSchedule(lambda step, lr: 1.0 / (step + 1)))
    w = bm.Variable([0.0])
    opt.apply([bm.Tensor([1.0])], [w])
    opt.apply([bm.Tensor([1.0])], [w])
    assert w.item() == pytest.approx(-1.5)

    def broken(step, lr):
        raise KeyError("no rate for step %d" % step)

    opt = optimizers.Adam(schedules.LambdaSchedule(lambda s, lr: 0.1 if s == 0 else broken(s, lr)))
    opt.apply([bm.Tensor([1.0])], [w])
    with pytest.raises(KeyError, match="no rate for step 1"):
        opt.apply([bm.Tensor([1.0])], [w])


def test_state_round_trip_resumes_identically():
    a, b = optimizers.Adam(0.1), optimizers.Adam(0.1)
    wa, wb = bm.Variable([1.0, -1.0]), bm.Variable([1.0, -1.0])
    g = bm.Tensor([0.3, -0.2])
    a.apply([g], [wa])
    state, step = a.get_state()
    assert step == 1 and len(state) == 4
    b.build([wb])
    b.set_state(state, step)
    wb.assign(wa.numpy())
    a.apply([g], [wa])
    b.apply([g], [wb])
    assert wa.tolist() == wb.tolist()


def test_clipping():
    g = [bm.Tensor([3.0, 4.0])]
    assert bm.optim.clip_grad_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g[0].numpy(), [0.6, 0.8], rtol=1e-5)
    bm.optim.clip_grad_value(g, 0.7)
    np.testing.assert_allclose(g[0].numpy(), [0.6, 0.7], rtol=1e-6)
    opt = optimizers.SGD(1.0, clipvalue=0.5)
    w = bm.Variable([0.0])
    opt.apply([bm.Tensor([10.0])], [w])
    assert w.item() == -0.5


def test_bad_hyperparameters_and_steps_raise_with_messages():
    with pytest.raises(bm.InvalidArgumentError, match="bgm_optimizer_sgd: learning rate -1 must be finite and >= 0"):
        optimizers.SGD(-1.0)
    with pytest.raises(bm.InvalidArgumentError, match="nesterov"):
        optimizers.SGD(0.1, nesterov=True)
    opt = optimizers.SGD(0.1)
    with pytest.raises(bm.ShapeError):
        opt.apply([bm.zeros(3)], [bm.Variable([1.0, 2.0])])
    with pytest.raises(bm.InvalidArgumentError, match="2 gradients for 1 parameters"):
        opt.apply([bm.zeros(1), bm.zeros(1)], [bm.Variable([1.0])])
    with pytest.raises(bm.StateError):
        optimizers.SGD(0.1).get_state()
