"""The ctypes side of the Python tests that call the C API directly: the
tensor and tape signatures, numpy arrays in and out of library tensors,
gradients of sum(out * w) on a tape, and the float64 references they are
compared with; graph models (Keras' functional API: inputs, layer calls,
named weights, training steps on a tape, predict_multi) and the mapping of
torch modules' weights onto Keras layouts and names. The bindings tests use
the bigmodel package instead."""
import ctypes

import numpy as np

from conftest import check

FLOAT32, INT32 = 1, 2
P = ctypes.c_void_p
PP = ctypes.POINTER(P)
I64 = ctypes.c_int64

_TENSOR_API = {
    "bgm_tensor_from_data": ([PP, ctypes.c_int, ctypes.POINTER(I64), ctypes.c_int, P],
                             ctypes.c_int),
    "bgm_tensor_wrap": ([PP, ctypes.c_int, ctypes.POINTER(I64), ctypes.c_int, P, P, P],
                        ctypes.c_int),
    "bgm_tensor_free": ([P], None),
    "bgm_tensor_data": ([P], P),
    "bgm_tensor_dtype": ([P], ctypes.c_int),
    "bgm_tensor_ndim": ([P], ctypes.c_int),
    "bgm_tensor_shape": ([P], ctypes.POINTER(I64)),
    "bgm_tensor_numel": ([P], I64),
    "bgm_tensor_nbytes": ([P], ctypes.c_size_t),
    "bgm_tensor_set_requires_grad": ([P, ctypes.c_int], ctypes.c_int),
    "bgm_tape_create": ([PP], ctypes.c_int),
    "bgm_tape_free": ([P], None),
    "bgm_tape_watch": ([P, P], ctypes.c_int),
    "bgm_tape_gradient": ([P, P, PP, ctypes.c_int, PP], ctypes.c_int),
    "bgm_op_mul": ([PP, P, P, P], ctypes.c_int),
    "bgm_op_sum_all": ([PP, P, P], ctypes.c_int),
}


def declare_tensor_api(lib):
    """Gives lib the signatures of the tensor and tape functions (and the mul
    and sum_all ops that build test losses); returns lib."""
    for name, (args, res) in _TENSOR_API.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


def _as_c_array(array, dtype):
    """array as a C-ordered float32 or int32 numpy array (0-d stays 0-d),
    with its library dtype: int32 where array is int32 or dtype says so."""
    array = np.asarray(array)
    if dtype is None:
        dtype = INT32 if array.dtype == np.int32 else FLOAT32
    return np.require(array, np.int32 if dtype == INT32 else np.float32, "C"), dtype


def to_tensor(lib, array, dtype=None):
    """A new library tensor holding a copy of array; the caller frees it."""
    a, dtype = _as_c_array(array, dtype)
    out = P()
    check(lib, lib.bgm_tensor_from_data(ctypes.byref(out), dtype, (I64 * max(a.ndim, 1))(
        *a.shape), a.ndim, a.ctypes.data_as(P)))
    return out


def wrap(lib, array, dtype=None):
    """A library tensor viewing the memory of array (converted first where it
    is not already C-ordered float32 / int32). Returns (handle, the array it
    views): the array must outlive the handle."""
    a, dtype = _as_c_array(array, dtype)
    out = P()
    check(lib, lib.bgm_tensor_wrap(ctypes.byref(out), dtype, (I64 * max(a.ndim, 1))(*a.shape),
                                   a.ndim, a.ctypes.data_as(P), None, None))
    return out, a


def to_numpy(lib, t):
    """A copy of tensor t as a numpy array of its dtype and shape."""
    shape = tuple(lib.bgm_tensor_shape(t)[i] for i in range(lib.bgm_tensor_ndim(t)))
    dtype = np.int32 if lib.bgm_tensor_dtype(t) == INT32 else np.float32
    nbytes = lib.bgm_tensor_nbytes(t)
    raw = ctypes.string_at(lib.bgm_tensor_data(t), nbytes) if nbytes else b""
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def model_predict(lib, model, x):
    """bgm_model_predict of model (a handle) on a copy of x, as numpy."""
    xt, out = to_tensor(lib, x), P()
    try:
        check(lib, lib.bgm_model_predict(ctypes.byref(out), model, xt, 0))
        return to_numpy(lib, out)
    finally:
        lib.bgm_tensor_free(xt)
        lib.bgm_tensor_free(out)


def op_gradients(lib, op, inputs, extra, weight_seed):
    """out = op(inputs, *extra) without a tape; then, on a tape with the
    inputs requiring gradients, the gradients of sum(out * w) for weights w
    drawn uniformly from [-1, 1) with weight_seed. Returns (out, gradients, w)."""
    tensors = [to_tensor(lib, x) for x in inputs]
    plain = P()
    check(lib, op(ctypes.byref(plain), None, *tensors, *extra))
    forward = to_numpy(lib, plain)
    lib.bgm_tensor_free(plain)

    weights = np.random.default_rng(weight_seed).uniform(-1, 1, forward.shape) \
        .astype(np.float32)
    w = to_tensor(lib, weights)
    tape = P()
    check(lib, lib.bgm_tape_create(ctypes.byref(tape)))
    for t in tensors:
        check(lib, lib.bgm_tensor_set_requires_grad(t, 1))
    out, prod, loss = P(), P(), P()
    check(lib, op(ctypes.byref(out), tape, *tensors, *extra))
    check(lib, lib.bgm_op_mul(ctypes.byref(prod), tape, out, w))
    check(lib, lib.bgm_op_sum_all(ctypes.byref(loss), tape, prod))
    n = len(tensors)
    grads = (P * n)()
    check(lib, lib.bgm_tape_gradient(tape, loss, (P * n)(*tensors), n, grads))
    result = [to_numpy(lib, g) for g in grads]
    lib.bgm_tape_free(tape)
    for t in tensors + [w]:
        lib.bgm_tensor_free(t)
    return forward, result, weights


def torch_op_gradients(fn, inputs, weights):
    """The reference of op_gradients: fn in float64 from the same float32
    inputs, so a comparison shows our float32 error, not the sum of ours and
    PyTorch's. Returns (out, gradients)."""
    import torch
    xs = [torch.tensor(np.asarray(x, dtype=np.float32), dtype=torch.float64,
                       requires_grad=True) for x in inputs]
    out = fn(*xs)
    (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def compare_with_torch(lib, op, torch_fn, inputs, extra=(), weight_seed=7):
    """op_gradients of op against torch_op_gradients of torch_fn: forward
    values and every gradient within rtol 1e-5 of PyTorch's (NaN matches NaN)."""
    forward, grads, weights = op_gradients(lib, op, inputs, extra, weight_seed)
    want, want_grads = torch_op_gradients(torch_fn, inputs, weights)
    np.testing.assert_allclose(forward, want, rtol=1e-5, atol=1e-7)
    assert len(grads) == len(want_grads)
    for got, ref in zip(grads, want_grads):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


class TapeSession:
    """A tape plus numpy arrays wrapped as tensors (kept alive here)."""

    def __init__(self, lib):
        self.lib = lib
        self.arrays, self.handles = [], []
        self.tape = P()
        check(lib, lib.bgm_tape_create(ctypes.byref(self.tape)))

    def tensor(self, array, watch=False):
        """array wrapped without a copy (None stays None); watch makes it a
        gradient source of the tape."""
        if array is None:
            return None
        h, a = wrap(self.lib, array)
        self.arrays.append(a)
        self.handles.append(h)
        if watch:
            check(self.lib, self.lib.bgm_tape_watch(self.tape, h))
        return h

    def call(self, name, *args):
        """Runs the op called name on the tape; its result belongs to the tape."""
        out = P()
        check(self.lib, getattr(self.lib, name)(ctypes.byref(out), self.tape, *args))
        return out

    def read(self, t):
        return to_numpy(self.lib, t)

    def weighted_sum(self, out, weight):
        """sum(out * weight) on the tape, weight a numpy array: a scalar loss."""
        return self.call("bgm_op_sum_all", self.call("bgm_op_mul", out, self.tensor(weight)))

    def gradient(self, loss, sources):
        """Gradients of the scalar loss with respect to sources, as numpy."""
        srcs = (P * len(sources))(*sources)
        grads = (P * len(sources))()
        check(self.lib, self.lib.bgm_tape_gradient(self.tape, loss, srcs, len(sources), grads))
        return [self.read(g) for g in grads]

    def grads(self, out, weight, sources):
        """Gradients of sum(out * weight) with respect to sources."""
        return self.gradient(self.weighted_sum(out, weight), sources)

    def close(self):
        self.lib.bgm_tape_free(self.tape)
        for h in self.handles:
            self.lib.bgm_tensor_free(h)


def t64(a, grad=True):
    """a as a float64 torch tensor, a gradient source unless grad is False."""
    import torch
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def assert_close(got, want, what, tol=1e-4, scale=None):
    """Same shape, and the largest difference below tol relative to the
    largest reference value (at least 1e-6), or to scale when given (for a
    reference that is zero in exact arithmetic). Returns that relative error."""
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    if scale is None:
        scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-6)
    err = float(np.abs(got - want).max()) / scale if want.size else 0.0
    assert err < tol, "%s: relative error %.3g" % (what, err)
    return err


def tf_same_pads(size, k, s):
    """TensorFlow's SAME padding of one spatial axis of size for a window k
    and stride s: (before, after), the odd cell after (bottom / right)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


# ---- graph models (bigmodel/graph.h) ------------------------------------------

C_INT, C_FLOAT = ctypes.c_int, ctypes.c_float

_GRAPH_API = {
    "bgm_graph_create": ([PP], C_INT),
    "bgm_graph_free": ([P], None),
    "bgm_graph_input": ([PP, P, ctypes.POINTER(I64), C_INT, C_INT, ctypes.c_char_p], C_INT),
    "bgm_layer_call": ([PP, P, PP, C_INT], C_INT),
    "bgm_layer_free": ([P], None),
    "bgm_model_create_graph": ([PP, PP, C_INT, PP, C_INT, ctypes.c_uint64], C_INT),
    "bgm_model_free": ([P], None),
    "bgm_model_num_inputs": ([P], C_INT),
    "bgm_model_num_outputs": ([P], C_INT),
    "bgm_model_num_params": ([P], I64),
    "bgm_model_num_weights": ([P], C_INT),
    "bgm_model_weight": ([P, C_INT], P),
    "bgm_model_weight_name": ([P, C_INT], ctypes.c_char_p),
    "bgm_model_weight_trainable": ([P, C_INT], C_INT),
    "bgm_model_set_weights": ([P, ctypes.POINTER(C_FLOAT), I64], C_INT),
    "bgm_model_trainable_params": ([ctypes.POINTER(PP), ctypes.POINTER(C_INT), P], C_INT),
    "bgm_model_forward": ([PP, P, P, P, C_INT], C_INT),
    "bgm_model_forward_multi": ([PP, C_INT, P, P, PP, C_INT, C_INT], C_INT),
    "bgm_model_predict_multi": ([PP, C_INT, P, PP, C_INT, I64], C_INT),
    "bgm_op_add": ([PP, P, P, P], C_INT),
    "bgm_op_scale": ([PP, P, P, C_FLOAT], C_INT),
    "bgm_op_mse_loss": ([PP, P, P, P], C_INT),
    "bgm_op_sparse_categorical_crossentropy": ([PP, P, P, P, C_INT], C_INT),
    # layer constructors: a new layer or NULL
    "bgm_layer_dense": ([I64, C_INT], P),
    "bgm_layer_conv2d": ([I64, I64, C_INT], P),
    "bgm_layer_batch_norm": ([], P),
    "bgm_layer_activation": ([C_INT], P),
    "bgm_layer_add": ([], P),
    "bgm_layer_subtract": ([], P),
    "bgm_layer_multiply": ([], P),
    "bgm_layer_concatenate": ([C_INT], P),
    # layer options
    "bgm_layer_set_name": ([P, ctypes.c_char_p], C_INT),
    "bgm_layer_set_strides": ([P, I64, I64], C_INT),
    "bgm_layer_set_padding": ([P, C_INT], C_INT),
    "bgm_layer_set_momentum": ([P, C_FLOAT], C_INT),
    "bgm_layer_set_epsilon": ([P, C_FLOAT], C_INT),
}


def declare_graph_api(lib):
    """declare_tensor_api plus the graph, model, layer and loss functions the
    graph tests use; returns lib."""
    declare_tensor_api(lib)
    for name, (args, res) in _GRAPH_API.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


def make_layer(lib, kind, *args, name=None, **options):
    """bgm_layer_<kind>(*args), named name, with bgm_layer_set_<option>(value)
    for each option (a tuple value is spread: strides=(2, 2))."""
    layer = getattr(lib, "bgm_layer_" + kind)(*args)
    if not layer:
        raise AssertionError("bgm_layer_%s: %s" % (kind, lib.bgm_last_error().decode()))
    try:
        if name is not None:
            check(lib, lib.bgm_layer_set_name(layer, name.encode()))
        for option, value in options.items():
            value = value if isinstance(value, tuple) else (value,)
            check(lib, getattr(lib, "bgm_layer_set_" + option)(layer, *value))
    except AssertionError:
        lib.bgm_layer_free(layer)
        raise
    return layer


class Graph:
    """A bgm_graph: input nodes, layer calls on nodes, models of them."""

    def __init__(self, lib):
        self.lib = lib
        self.g = P()
        check(lib, lib.bgm_graph_create(ctypes.byref(self.g)))

    def input(self, shape, name=None, dtype=FLOAT32):
        node = P()
        check(self.lib, self.lib.bgm_graph_input(ctypes.byref(node), self.g, (I64 * len(shape))(
            *shape), len(shape), dtype, name.encode() if name else None))
        return node

    def __call__(self, layer, *nodes):
        """layer (a handle, owned by the graph from now on) called on nodes;
        calling one handle again shares its weights."""
        out = P()
        check(self.lib, self.lib.bgm_layer_call(ctypes.byref(out), layer, (P * len(nodes))(
            *nodes), len(nodes)))
        return out

    def model(self, inputs, outputs, seed=1):
        """A GraphModel from inputs to outputs (lists of nodes)."""
        m = P()
        check(self.lib, self.lib.bgm_model_create_graph(
            ctypes.byref(m), (P * len(inputs))(*inputs), len(inputs),
            (P * len(outputs))(*outputs), len(outputs), seed))
        return GraphModel(self.lib, m)

    def close(self):
        self.lib.bgm_graph_free(self.g)


class StepResult:
    """What GraphModel.train_step read: outputs (list), values (dict of the
    loss function's scalars), grads (dict by weight name), input_grads (list)."""

    def __init__(self, outputs, values, grads, input_grads):
        self.outputs, self.values = outputs, values
        self.grads, self.input_grads = grads, input_grads


class GraphModel:
    """A model handle with its weights by name ("<layer>/<weight>")."""

    def __init__(self, lib, m):
        self.lib, self.m = lib, m
        self.num_inputs = lib.bgm_model_num_inputs(m)
        self.num_outputs = lib.bgm_model_num_outputs(m)

    def weight_names(self):
        return [self.lib.bgm_model_weight_name(self.m, i).decode()
                for i in range(self.lib.bgm_model_num_weights(self.m))]

    def weights(self):
        """Every weight, trainable or not, as {name: numpy copy}."""
        return {name: to_numpy(self.lib, self.lib.bgm_model_weight(self.m, i))
                for i, name in enumerate(self.weight_names())}

    def set_weights(self, named):
        """Sets every weight from {name: array} (bgm_model_set_weights): each
        name of the model must be there, in its shape, and nothing else."""
        names = self.weight_names()
        assert sorted(named) == sorted(names), "weights %s, model has %s" % (
            sorted(named), sorted(names))
        parts = []
        for i, name in enumerate(names):
            want = tuple(to_numpy(self.lib, self.lib.bgm_model_weight(self.m, i)).shape)
            assert tuple(np.shape(named[name])) == want, "%s: shape %s, model has %s" % (
                name, np.shape(named[name]), want)
            parts.append(np.ravel(named[name]))
        flat = np.require(np.concatenate(parts), np.float32, "C")
        check(self.lib, self.lib.bgm_model_set_weights(
            self.m, flat.ctypes.data_as(ctypes.POINTER(C_FLOAT)), flat.size))

    def trainable(self):
        """(handles, names) of bgm_model_trainable_params, each view named
        by the weight whose memory it is."""
        lib = self.lib
        params, n = PP(), C_INT()
        check(lib, lib.bgm_model_trainable_params(ctypes.byref(params), ctypes.byref(n), self.m))
        handles = [params[i] for i in range(n.value)]
        by_data = {lib.bgm_tensor_data(lib.bgm_model_weight(self.m, i)): name
                   for i, name in enumerate(self.weight_names())}
        return handles, [by_data[lib.bgm_tensor_data(h)] for h in handles]

    def forward(self, session, inputs, training):
        """The model on inputs (numpy arrays, watched on session's tape so
        their gradients can be taken): (output handles, input handles).
        A model of one input and one output runs through bgm_model_forward,
        others through bgm_model_forward_multi."""
        xs = [session.tensor(x, watch=True) for x in inputs]
        outs = (P * self.num_outputs)()
        if self.num_inputs == 1 and self.num_outputs == 1:
            check(self.lib, self.lib.bgm_model_forward(outs, self.m, session.tape, xs[0],
                                                       training))
        else:
            check(self.lib, self.lib.bgm_model_forward_multi(
                outs, self.num_outputs, self.m, session.tape, (P * len(xs))(*xs), len(xs),
                training))
        return list(outs), xs

    def train_step(self, inputs, loss_fn, training=1):
        """One forward pass on a new tape, then gradients of a loss: loss_fn
        (session, output handles) returns {name: scalar on the tape}, the one
        called "loss" being differentiated with respect to every trainable
        weight and every input. No weight is changed but BatchNorm's moving
        statistics (in training)."""
        session = TapeSession(self.lib)
        try:
            outs, xs = self.forward(session, inputs, training)
            scalars = loss_fn(session, outs)
            handles, names = self.trainable()
            grads = session.gradient(scalars["loss"], handles + xs)
            return StepResult([session.read(o) for o in outs],
                              {k: float(session.read(v)) for k, v in scalars.items()},
                              dict(zip(names, grads[:len(names)])), grads[len(names):])
        finally:
            session.close()

    def predict(self, inputs, batch_size=0):
        """bgm_model_predict_multi on copies of inputs: the outputs as numpy."""
        lib = self.lib
        xs = [to_tensor(lib, x) for x in inputs]
        outs = (P * self.num_outputs)()
        try:
            check(lib, lib.bgm_model_predict_multi(outs, self.num_outputs, self.m,
                                                   (P * len(xs))(*xs), len(xs), batch_size))
            return [to_numpy(lib, o) for o in outs]
        finally:
            for t in xs + list(outs):
                lib.bgm_tensor_free(t)

    def close(self):
        self.lib.bgm_model_free(self.m)


def keras_weights(module, grads=False):
    """The weights of a torch module's children (Linear, Conv2d, BatchNorm)
    in Keras' names and layouts, each child named as its layer:
    {"<child>/kernel": ..., "<child>/bias": ..., "<child>/gamma": ...} as
    float64 numpy. Linear weights (out, in) become kernels (in, out), Conv2d
    weights (F, C, KH, KW) kernels (KH, KW, C, F); BatchNorm's weight, bias,
    running_mean and running_var are gamma, beta, moving_mean and
    moving_variance. grads=True gives the gradients of the trainable ones."""
    import torch
    layouts = {
        torch.nn.Linear: [("kernel", "weight", lambda w: w.T), ("bias", "bias", None)],
        torch.nn.Conv2d: [("kernel", "weight", lambda w: w.permute(2, 3, 1, 0)),
                          ("bias", "bias", None)],
        torch.nn.modules.batchnorm._BatchNorm: [
            ("gamma", "weight", None), ("beta", "bias", None),
            ("moving_mean", "running_mean", None), ("moving_variance", "running_var", None)],
    }
    out = {}
    for child, mod in module.named_children():
        kind = next((k for k in layouts if isinstance(mod, k)), None)
        if kind is None:
            continue
        for keras_name, attr, layout in layouts[kind]:
            t = getattr(mod, attr)
            if t is None or (grads and not isinstance(t, torch.nn.Parameter)):
                continue
            t = t.grad if grads else t
            t = layout(t) if layout else t
            out["%s/%s" % (child, keras_name)] = t.detach().double().numpy().copy()
    return out
