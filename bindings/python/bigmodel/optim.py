"""Optimizers, learning-rate schedules and gradient clipping (bigmodel/optim.h).

    opt = bigmodel.optimizers.Adam(learning_rate=1e-3)
    grads = tape.gradient(loss, params)
    opt.apply(grads, params)                      # Keras 3: optimizer.apply
    opt.apply_gradients(zip(grads, params))       # Keras 2 / tf.keras

Parameters are float32 Tensors updated in place (a float32, C-contiguous,
writeable numpy array works too: it is wrapped without copying, so the update
lands in the array). The optimizer's state is keyed by position: every step
must pass the same parameters in the same order. Update rules follow
torch.optim; defaults are the Keras ones.
"""
import ctypes

from . import _compat
from . import _lib
from ._lib import lib, tensor_array as _handles
from ._handle import Handle
from .errors import DTypeError, InvalidArgumentError, StateError
from .tensor import Tensor, float32

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_grad_norm",
           "clip_grad_value", "schedules"]


def _tensor_list(items, what, in_place):
    out = []
    for i, x in enumerate(items):
        if isinstance(x, Tensor):
            out.append(x)
            continue
        np = _compat.np
        if in_place and not (np is not None and isinstance(x, np.ndarray)
                             and x.dtype == np.float32 and x.flags.c_contiguous
                             and x.flags.writeable and x.flags.aligned):
            raise DTypeError("%s[%d] must be a float32 Tensor (or a writeable float32 "
                             "C-contiguous numpy array) to be updated in place, got %s"
                             % (what, i, type(x).__name__))
        out.append(Tensor(x, float32))
    return out


class Optimizer(Handle):
    """Base class: an optimizer handle and what it needs to stay alive.

    ``Sequential.compile(optimizer=opt)`` hands the handle to the model, which
    frees it: the object then stays usable (learning_rate, iterations, ...)
    while the model lives, and belongs to that model only."""

    _free_fn, _counter, _what = "bgm_optimizer_free", "optimizer", "optimizer"
    _owner = None  # the model's memory once compiled with it

    def __init__(self, ptr, learning_rate, clipnorm=None, global_clipnorm=None,
                 clipvalue=None):
        self._take(ptr)
        self._schedule = None
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._schedule = learning_rate
            lib.bgm_optimizer_set_schedule(ptr, learning_rate._h)
        if clipnorm:
            lib.bgm_optimizer_set_clipnorm(ptr, clipnorm)
        if global_clipnorm:
            lib.bgm_optimizer_set_global_clipnorm(ptr, global_clipnorm)
        if clipvalue:
            lib.bgm_optimizer_set_clipvalue(ptr, clipvalue)

    @staticmethod
    def _initial_rate(learning_rate):
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            return learning_rate(0)
        return float(learning_rate)

    @staticmethod
    def _create(fn, *args):
        out = ctypes.c_void_p()
        fn(ctypes.byref(out), *args)
        return out.value

    def _give_to(self, owner):
        """Marks the handle as the model's, before bgm_model_compile takes it."""
        if self._owner is not None:
            raise StateError("this optimizer already belongs to a model; give each model "
                             "its own optimizer")
        h = self._h
        self._owner = owner
        _lib.count("optimizer", -1)
        return h

    def _detach(self):
        """The model freed the handle (closed, or compiled with another optimizer)."""
        self._ptr = None

    # -- stepping --

    def build(self, params):
        """Fixes the parameter list and allocates the state (zeros)."""
        ps = _tensor_list(params, "params", True)
        lib.bgm_optimizer_build(self._h, _handles(ps), len(ps))

    def apply(self, grads, params):
        """One update of params (in place) from grads: Keras 3's optimizer.apply."""
        grads, params = list(grads), list(params)
        if len(grads) != len(params):
            raise InvalidArgumentError("%d gradients for %d parameters"
                                       % (len(grads), len(params)))
        ps = _tensor_list(params, "params", True)
        gs = _tensor_list(grads, "grads", False)
        try:
            lib.bgm_optimizer_step(self._h, _handles(ps), _handles(gs), len(ps))
        except InvalidArgumentError as exc:
            raised = self._schedule and self._schedule._pop_error()
            if raised:
                raise raised from exc
            raise

    def step(self, params, grads):
        """Same as apply(grads, params), in the C function's argument order."""
        self.apply(grads, params)

    def apply_gradients(self, grads_and_vars):
        """tf.keras form: an iterable of (gradient, parameter) pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    # -- properties --

    @property
    def iterations(self):
        """Number of updates applied so far."""
        return lib.bgm_optimizer_step_count(self._h)

    @property
    def learning_rate(self):
        return lib.bgm_optimizer_get_lr(self._h)

    @learning_rate.setter
    def learning_rate(self, lr):
        lib.bgm_optimizer_set_lr(self._h, float(lr))

    def get_state(self):
        """(state floats as a list, step count): everything to resume with identical bits."""
        n = lib.bgm_optimizer_state_size(self._h)
        buf, step = (ctypes.c_float * max(n, 1))(), ctypes.c_int64()
        lib.bgm_optimizer_get_state(self._h, buf, n, ctypes.byref(step))
        return list(buf[:n]), step.value

    def set_state(self, state, step):
        """Restores what get_state returned (build() or one step first)."""
        values = list(state)
        buf = (ctypes.c_float * max(len(values), 1))(*values)
        lib.bgm_optimizer_set_state(self._h, buf, len(values), int(step))


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + g (PyTorch's form); nesterov optional."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **clip):
        ptr = self._create(lib.bgm_optimizer_sgd, self._initial_rate(learning_rate),
                           momentum, 1 if nesterov else 0)
        super().__init__(ptr, learning_rate, **clip)


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **clip):
        ptr = self._create(lib.bgm_optimizer_adam, self._initial_rate(learning_rate),
                           beta_1, beta_2, epsilon)
        super().__init__(ptr, learning_rate, **clip)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (torch.optim.AdamW)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, **clip):
        ptr = self._create(lib.bgm_optimizer_adamw, self._initial_rate(learning_rate),
                           beta_1, beta_2, epsilon, weight_decay)
        super().__init__(ptr, learning_rate, **clip)


class RMSprop(Optimizer):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, **clip):
        ptr = self._create(lib.bgm_optimizer_rmsprop, self._initial_rate(learning_rate),
                           rho, momentum, epsilon)
        super().__init__(ptr, learning_rate, **clip)


def clip_grad_norm(grads, max_norm):
    """Scales grads in place to global L2 norm <= max_norm; returns the norm before."""
    gs = _tensor_list(grads, "grads", True)
    norm = ctypes.c_double()
    lib.bgm_clip_grad_norm(ctypes.byref(norm), _handles(gs), len(gs), float(max_norm))
    return norm.value


def clip_grad_value(grads, clip):
    """Clamps every gradient element to [-clip, clip] in place."""
    gs = _tensor_list(grads, "grads", True)
    lib.bgm_clip_grad_value(_handles(gs), len(gs), float(clip))


class schedules:  # noqa: N801  (a namespace, as keras.optimizers.schedules)
    """Learning-rate schedules: pass one as an optimizer's learning_rate."""

    class LearningRateSchedule(Handle):
        _free_fn, _counter, _what = "bgm_lr_schedule_free", "schedule", "schedule"

        def __call__(self, step, current_lr=0.0):
            """The rate at step (0-based)."""
            out = ctypes.c_float()
            lib.bgm_lr_schedule_value(ctypes.byref(out), self._h, int(step),
                                      float(current_lr))
            return out.value

        def _pop_error(self):
            return None

    class Constant(LearningRateSchedule):
        def __init__(self, learning_rate):
            self._make(lib.bgm_lr_schedule_constant, float(learning_rate))

    class StepDecay(LearningRateSchedule):
        """lr * gamma ** (step // step_size) (torch's StepLR)."""

        def __init__(self, learning_rate, step_size, gamma=0.1):
            self._make(lib.bgm_lr_schedule_step_decay, float(learning_rate),
                       int(step_size), float(gamma))

    class ExponentialDecay(LearningRateSchedule):
        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False):
            self._make(lib.bgm_lr_schedule_exponential_decay, float(initial_learning_rate),
                       int(decay_steps), float(decay_rate), 1 if staircase else 0)

    class CosineDecay(LearningRateSchedule):
        """Keras' CosineDecay: optional linear warmup from initial_learning_rate to
        warmup_target over warmup_steps, then cosine decay to alpha * the peak."""

        def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                     warmup_steps=0):
            peak = initial_learning_rate if warmup_target is None else warmup_target
            self._make(lib.bgm_lr_schedule_cosine_decay, float(peak), int(decay_steps),
                       float(alpha), int(warmup_steps), float(initial_learning_rate))

    class LambdaSchedule(LearningRateSchedule):
        """fn(step, current_lr) -> rate, called by the library at every step."""

        def __init__(self, fn):
            self._fn = fn
            self._error = None
            self._callback = _lib.LR_FN(self._call)  # kept alive with the schedule
            self._make(lib.bgm_lr_schedule_callback, self._callback, None)

        def _call(self, step, current_lr, ctx):
            try:
                return float(self._fn(step, current_lr))
            except BaseException as exc:  # reported after the C call returns
                self._error = exc
                return float("nan")

        def _pop_error(self):
            err, self._error = self._error, None
            return err

        def __call__(self, step, current_lr=0.0):
            try:
                return super().__call__(step, current_lr)
            except InvalidArgumentError as exc:
                raised = self._pop_error()
                if raised:
                    raise raised from exc
                raise
