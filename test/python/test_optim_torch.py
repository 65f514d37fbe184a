"""Optimizers against torch.optim: 20 steps of every update rule on a fixed
quadratic (gradients from numpy, each side at its own parameters) and on a
2-layer network (gradients from torch, the same ones fed to both), so only
the update rule can differ. Trajectories agree within 1e-5 (float32).
Also clip_grad_norm against torch.nn.utils.clip_grad_norm_ and schedules
against torch's StepLR and LambdaLR."""
import ctypes

import numpy as np
import pytest

from cbridge import I64, P, declare_tensor_api, wrap
from conftest import check

torch = pytest.importorskip("torch")

F = ctypes.c_float
TOL = 1e-5
STEPS = 20
LR_FN = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p)


@pytest.fixture(scope="module")
def api(lib):
    pp = ctypes.POINTER(P)
    declare_tensor_api(lib)
    lib.bgm_optimizer_sgd.argtypes = [pp, F, F, ctypes.c_int]
    lib.bgm_optimizer_adam.argtypes = [pp, F, F, F, F]
    lib.bgm_optimizer_adamw.argtypes = [pp, F, F, F, F, F]
    lib.bgm_optimizer_rmsprop.argtypes = [pp, F, F, F, F]
    lib.bgm_optimizer_free.argtypes = [P]
    lib.bgm_optimizer_step.argtypes = [P, pp, pp, ctypes.c_int]
    lib.bgm_optimizer_get_lr.argtypes = [P]
    lib.bgm_optimizer_get_lr.restype = F
    lib.bgm_optimizer_set_schedule.argtypes = [P, P]
    lib.bgm_clip_grad_norm.argtypes = [ctypes.POINTER(ctypes.c_double), pp, ctypes.c_int, F]
    lib.bgm_lr_schedule_step_decay.argtypes = [pp, F, I64, F]
    lib.bgm_lr_schedule_callback.argtypes = [pp, LR_FN, P]
    lib.bgm_lr_schedule_free.argtypes = [P]
    return lib


class Wrapped:
    """float32 numpy arrays seen by the library as tensors, without copies."""

    def __init__(self, lib, arrays):
        self.lib = lib
        self.arrays = [np.ascontiguousarray(a, dtype=np.float32).copy() for a in arrays]
        self.handles = (P * len(self.arrays))(*[wrap(lib, a)[0] for a in self.arrays])

    def free(self):
        for h in self.handles:
            self.lib.bgm_tensor_free(h)


# name -> (torch optimizer factory, our constructor and its arguments)
OPTIMIZERS = {
    "sgd": (lambda ps: torch.optim.SGD(ps, lr=0.05),
            ("bgm_optimizer_sgd", 0.05, 0.0, 0)),
    "sgd_momentum": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
                     ("bgm_optimizer_sgd", 0.05, 0.9, 0)),
    "sgd_nesterov": (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
                     ("bgm_optimizer_sgd", 0.05, 0.9, 1)),
    "adam": (lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-8),
             ("bgm_optimizer_adam", 0.01, 0.9, 0.999, 1e-8)),
    "adamw": (lambda ps: torch.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8,
                                           weight_decay=0.1),
              ("bgm_optimizer_adamw", 0.01, 0.8, 0.99, 1e-8, 0.1)),
    "rmsprop": (lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8),
                ("bgm_optimizer_rmsprop", 0.01, 0.9, 0.0, 1e-8)),
    "rmsprop_momentum": (lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8,
                                                        momentum=0.5),
                         ("bgm_optimizer_rmsprop", 0.01, 0.9, 0.5, 1e-8)),
}


def make_ours(lib, spec):
    opt = P()
    check(lib, getattr(lib, spec[0])(ctypes.byref(opt), *spec[1:]))
    return opt


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_quadratic_trajectory_matches_torch(api, name):
    torch_factory, spec = OPTIMIZERS[name]
    rng = np.random.default_rng(7)
    a = rng.standard_normal((6, 4))
    b = rng.standard_normal(6)
    p0 = rng.standard_normal(4).astype(np.float32)

    def grad(p):  # d/dp 0.5 * |A p - b|^2
        return (a.T @ (a @ p.astype(np.float64) - b)).astype(np.float32)

    tp = torch.tensor(p0.copy(), requires_grad=True)
    topt = torch_factory([tp])
    params = Wrapped(api, [p0])
    grads = Wrapped(api, [np.zeros(4)])
    opt = make_ours(api, spec)
    try:
        for step in range(STEPS):
            tp.grad = torch.from_numpy(grad(tp.detach().numpy()))
            topt.step()
            grads.arrays[0][...] = grad(params.arrays[0])
            check(api, api.bgm_optimizer_step(opt, params.handles, grads.handles, 1))
            np.testing.assert_allclose(params.arrays[0], tp.detach().numpy(), rtol=TOL,
                                       atol=TOL, err_msg="%s, step %d" % (name, step + 1))
    finally:
        api.bgm_optimizer_free(opt)
        params.free()
        grads.free()


def two_layer_net(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_two_layer_network_trajectory_matches_torch(api, name):
    torch_factory, spec = OPTIMIZERS[name]
    net = two_layer_net(3)
    x = torch.randn(16, 5)
    y = torch.randn(16, 3)
    tparams = list(net.parameters())
    topt = torch_factory(tparams)
    params = Wrapped(api, [t.detach().numpy() for t in tparams])
    grads = Wrapped(api, [np.zeros(t.shape) for t in tparams])
    opt = make_ours(api, spec)
    try:
        for step in range(STEPS):
            topt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            for g, t in zip(grads.arrays, tparams):
                g[...] = t.grad.numpy()
            topt.step()
            check(api, api.bgm_optimizer_step(opt, params.handles, grads.handles,
                                              len(tparams)))
            for i, (ours, t) in enumerate(zip(params.arrays, tparams)):
                np.testing.assert_allclose(ours, t.detach().numpy(), rtol=TOL, atol=TOL,
                                           err_msg="%s, step %d, parameter %d"
                                           % (name, step + 1, i))
    finally:
        api.bgm_optimizer_free(opt)
        params.free()
        grads.free()


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
def test_clip_grad_norm_matches_torch(api, max_norm):
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (7,), (2, 2, 2)]]
    tensors = [torch.tensor(a) for a in arrays]
    for t in tensors:
        t.grad = t.clone()
    want = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    grads = Wrapped(api, arrays)
    norm = ctypes.c_double()
    try:
        check(api, api.bgm_clip_grad_norm(ctypes.byref(norm), grads.handles, 3, max_norm))
        assert abs(norm.value - float(want)) <= 1e-5 * float(want)
        for ours, t in zip(grads.arrays, tensors):
            np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-6, atol=1e-7)
    finally:
        grads.free()


def run_scheduled(api, schedule, torch_scheduler_factory):
    """SGD with momentum under a schedule against torch with its scheduler."""
    net = two_layer_net(5)
    x, y = torch.randn(8, 5), torch.randn(8, 3)
    tparams = list(net.parameters())
    topt = torch.optim.SGD(tparams, lr=0.1, momentum=0.9)
    sched = torch_scheduler_factory(topt)
    params = Wrapped(api, [t.detach().numpy() for t in tparams])
    grads = Wrapped(api, [np.zeros(t.shape) for t in tparams])
    opt = make_ours(api, ("bgm_optimizer_sgd", 0.1, 0.9, 0))
    try:
        check(api, api.bgm_optimizer_set_schedule(opt, schedule))
        for step in range(STEPS):
            topt.zero_grad()
            torch.nn.functional.mse_loss(net(x), y).backward()
            for g, t in zip(grads.arrays, tparams):
                g[...] = t.grad.numpy()
            used = topt.param_groups[0]["lr"]
            topt.step()
            sched.step()
            check(api, api.bgm_optimizer_step(opt, params.handles, grads.handles,
                                              len(tparams)))
            assert abs(api.bgm_optimizer_get_lr(opt) - used) <= 1e-7 * used
            for ours, t in zip(params.arrays, tparams):
                np.testing.assert_allclose(ours, t.detach().numpy(), rtol=TOL, atol=TOL,
                                           err_msg="step %d" % (step + 1))
    finally:
        api.bgm_optimizer_free(opt)
        params.free()
        grads.free()


def test_step_decay_schedule_matches_torch_step_lr(api):
    schedule = P()
    check(api, api.bgm_lr_schedule_step_decay(ctypes.byref(schedule), 0.1, 4, 0.5))
    try:
        run_scheduled(api, schedule,
                      lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5))
    finally:
        api.bgm_lr_schedule_free(schedule)


def test_python_callback_schedule_matches_torch_lambda_lr(api):
    calls = []

    def rate(step, current_lr, ctx):
        calls.append(step)
        return 0.1 * 0.9 ** step

    fn = LR_FN(rate)  # kept alive for as long as the optimizer may call it
    schedule = P()
    check(api, api.bgm_lr_schedule_callback(ctypes.byref(schedule), fn, None))
    try:
        run_scheduled(api, schedule,
                      lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.9 ** e))
    finally:
        api.bgm_lr_schedule_free(schedule)
    assert calls == list(range(STEPS))
