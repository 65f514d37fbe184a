"""Layers (bigmodel/model.h, bigmodel/graph.h), spelled as in Keras.

    bigmodel.layers.Conv2D(32, 3, activation="relu")
    bigmodel.layers.Dense(10, kernel_regularizer=bigmodel.regularizers.l2(1e-4))
    y = bigmodel.layers.Add()([x1, x2])        # called on KerasTensors

A layer object owns its C handle (a ``bgm_layer``) until it is added to a
Sequential model or called on KerasTensors. ``Sequential.add`` hands the
handle to the model, which frees it with itself; from then on the layer
object is a view of the model's layer (its name, output shape, weights) and
keeps the model's memory alive. The first call on KerasTensors hands it to
their graph instead (bigmodel.graph), which frees it with itself; the
object then keeps the graph alive, calling it again shares its weights, and
its weights are those of the functional model built from the graph, while
that model lives. A layer belongs to one Sequential model or one graph; a
failed add or first call frees its handle (the library's rule), so the
object cannot be used again: make a new one.

Options are set when the layer is made, through the library's setters, so
an invalid one (a negative rate, an unknown padding) raises right there.
"""
import ctypes
import json
import numbers
import weakref

from . import _custom, _lib
from ._lib import lib
from ._handle import Handle
from .errors import InvalidArgumentError, NoMemoryError, StateError
from .graph import Input, call_layer

__all__ = ["Layer", "Input", "InputLayer", "Dense", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "Flatten", "Dropout",
           "BatchNormalization", "LayerNormalization", "RMSNormalization",
           "GlobalAveragePooling1D", "GlobalAvgPool1D", "Activation", "ReLU", "LeakyReLU",
           "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "Embedding", "LSTM", "GRU",
           "Bidirectional", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Reshape", "Permute", "ZeroPadding2D", "Conv1D",
           "PositionEmbedding", "SinePositionEncoding", "ReversibleEmbedding",
           "MultiHeadAttention", "Rescaling", "Normalization", "TextVectorization",
           "Lambda", "add", "subtract", "serialize", "deserialize",
           "multiply", "average", "maximum", "minimum", "concatenate"]

ACTIVATIONS = {None: 0, "linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4,
               "leaky_relu": 5, "gelu": 6, "gelu_tanh": 7, "gelu_approximate": 7,
               "silu": 8, "swish": 8}
INITIALIZERS = {"glorot_uniform": 1, "glorot_normal": 2, "he_normal": 3, "he_uniform": 4,
                "zeros": 5, "ones": 6, "orthogonal": 7, "uniform": 8, "random_uniform": 8}
PADDINGS = {"valid": 0, "same": 1}
PADDINGS_1D = {"valid": 0, "same": 1, "causal": 2}


def activation_code(activation):
    """The bgm_activation of a name (Keras' spelling), None, or a bigmodel.ops function."""
    if callable(activation):
        activation = getattr(activation, "__name__", None)
    if isinstance(activation, str):
        activation = activation.lower()
    if activation not in ACTIVATIONS:
        raise InvalidArgumentError("unknown activation %r; expected one of %s" % (
            activation, ", ".join(sorted(k for k in ACTIVATIONS if k))))
    return ACTIVATIONS[activation]


def _initializer(value, what):
    key = value.lower() if isinstance(value, str) else value
    key = {"glorotuniform": "glorot_uniform", "glorotnormal": "glorot_normal",
           "henormal": "he_normal", "heuniform": "he_uniform", "zero": "zeros",
           "one": "ones", "randomuniform": "random_uniform"}.get(key, key)
    if key not in INITIALIZERS:
        raise InvalidArgumentError("unknown %s %r; expected one of %s"
                                   % (what, value, ", ".join(sorted(INITIALIZERS))))
    return INITIALIZERS[key]


def _pair(v, what):
    if isinstance(v, numbers.Integral):
        return int(v), int(v)
    v = tuple(int(x) for x in v)
    if len(v) != 2:
        raise InvalidArgumentError("%s must be an int or a pair, got %r" % (what, v))
    return v


def _padding(padding, names=PADDINGS):
    key = padding.lower() if isinstance(padding, str) else padding
    if key not in names:
        raise InvalidArgumentError("padding must be %s, got %r" % (
            " or ".join("'%s'" % k for k in names), padding))
    return names[key]


def _single(v, what):
    """Keras' int or 1-tuple of a 1-D option, as an int."""
    if isinstance(v, numbers.Integral):
        return int(v)
    v = tuple(int(x) for x in v)
    if len(v) != 1:
        raise InvalidArgumentError("%s must be an int or a 1-tuple, got %r" % (what, v))
    return v[0]


class regularizers:  # noqa: N801  (a namespace, as keras.regularizers)
    """Kernel regularizers: only L2 has a library counterpart."""

    class L2:
        def __init__(self, l2=0.01):
            self.l2 = float(l2)

        def __repr__(self):
            return "L2(%g)" % self.l2

    @staticmethod
    def l2(l2=0.01):
        return regularizers.L2(l2)


def _l2_value(reg):
    if reg is None:
        return None
    if isinstance(reg, regularizers.L2):
        return reg.l2
    if isinstance(reg, numbers.Real):
        return float(reg)
    if isinstance(reg, str) and reg.lower() == "l2":
        return 0.01
    raise InvalidArgumentError("kernel_regularizer must be bigmodel.regularizers.l2(x), a "
                               "number or 'l2', got %r" % (reg,))


def _input_shape(shape):
    if shape is None:
        return None
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(d) for d in shape)


class InputLayer:
    """The shape of one sample, as the first entry of a Sequential's layer list
    (Keras' InputLayer). Not a layer of the model. ``Input`` (a KerasTensor)
    serves there too."""

    def __init__(self, shape=None, input_shape=None, batch_size=None, name=None):
        self.shape = _input_shape(shape if shape is not None else input_shape)
        if not self.shape:
            raise InvalidArgumentError("Input needs the shape of one sample, e.g. (28, 28, 1)")

    def __repr__(self):
        return "InputLayer(shape=%s)" % (self.shape,)


_SUBCLASS = object()  # Layer's ptr when a user's subclass calls super().__init__(**kwargs)


class Layer(Handle):
    """A layer configuration; see the module documentation for ownership.

    Subclass it as in Keras: ``__init__(**kwargs)`` passing name / trainable
    on to ``super().__init__``, ``build(input_shape)`` declaring weights with
    ``add_weight``, ``call(inputs)`` written with bigmodel ops, and
    ``get_config`` returning the constructor's arguments (ints, floats, bools,
    strings) for model files. Such a layer runs inside the library (fit stays
    in C) through its run-time layer kinds (bigmodel._custom); the output
    shape comes from ``compute_output_shape`` or from a call on zeros."""

    _free_fn, _counter = "bgm_layer_free", "layer"
    _owner = None     # who frees the handle: the Sequential's memory once added, the
                      # graph's once called on KerasTensors
    _model = None     # the memory of the model holding its weights (a weakref for a
                      # graph's layer: the model may go while the graph stays)
    _freed = None     # how its handle went away: "adding it to a model", ...
    _wrapped = False  # its handle went to a Bidirectional layer

    _custom_key = None   # a user-defined layer: its key in bigmodel._custom
    _eager_built = False # built by a call on data: it has weights of its own

    def __init__(self, ptr=_SUBCLASS, name=None, input_shape=None, input_dim=None, **kwargs):
        if ptr is _SUBCLASS:
            self._init_custom(name, input_shape if input_shape is not None else input_dim,
                              kwargs)
            return
        if kwargs:
            raise TypeError("%s got unexpected keyword arguments %s"
                            % (type(self).__name__, ", ".join(sorted(kwargs))))
        if not ptr:
            message = (lib.bgm_last_error() or b"").decode("utf-8", "replace")
            cls = NoMemoryError if "out of memory" in message else InvalidArgumentError
            raise cls(message or "%s: the library could not make the layer"
                      % type(self).__name__)
        self._take(ptr)
        self.input_shape = _input_shape(input_shape if input_shape is not None
                                        else input_dim)
        try:
            if name is not None:
                lib.bgm_layer_set_name(ptr, str(name).encode("utf-8"))
        except BaseException:
            self.close()
            raise

    def _init_custom(self, name, input_shape, kwargs):
        """A user-defined layer's handle: a new layer of its class's kind, or
        the loaded one from_config is restoring."""
        trainable = kwargs.pop("trainable", True)
        dtype = kwargs.pop("dtype", None)
        if dtype not in (None, "float32"):
            raise InvalidArgumentError("%s: dtype %r; layers compute in float32"
                                       % (type(self).__name__, dtype))
        if kwargs:
            raise TypeError("%s got unexpected keyword arguments %s"
                            % (type(self).__name__, ", ".join(sorted(kwargs))))
        ptr = _custom.adopting()
        if ptr is not None:
            _custom.adopt(self, ptr)
            return
        kind = _custom.kind_for(type(self))
        self._make(lib.bgm_layer_create, kind.encode())
        self.input_shape = _input_shape(input_shape)
        try:
            _custom.attach(self, self._ptr)
            if name is not None:
                lib.bgm_layer_set_name(self._ptr, str(name).encode("utf-8"))
            if not trainable:
                lib.bgm_layer_set_trainable(self._ptr, 0)
        except BaseException:
            self.close()
            raise

    # -- what a subclass overrides (Keras' Layer API) --

    def build(self, input_shape):
        """Declares the weights (add_weight) for inputs of input_shape ((None, ...),
        or a list of them for several inputs). Runs when the layer joins a model."""

    def call(self, inputs):
        raise NotImplementedError("%s.call: a Layer subclass defines call(inputs)"
                                  % type(self).__name__)

    def compute_output_shape(self, input_shape):
        """The output shape (None, ...); None (the default) lets the library find
        it by calling the layer on zeros."""
        return None

    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None,
                   trainable=True, name=None, **kwargs):
        """A weight of the layer, in build(): shape (without a batch axis),
        Keras' initializer name, trainable. The returned object is the weight's
        tensor inside call()."""
        ptr = getattr(self, "_custom_building", None)
        if ptr is None:
            raise StateError("add_weight: call it in build() of a Layer subclass")
        if name is None:
            name = "variable" if not self._custom_weights else \
                "variable_%d" % len(self._custom_weights)
        shape = tuple(int(d) for d in (shape or ()))
        dims, ndim = _lib.shape_array(shape)
        lib.bgm_layer_add_weight(ptr, str(name).encode("utf-8"), dims, ndim,
                                 _initializer(initializer, "initializer"),
                                 1 if trainable else 0)
        me = weakref.ref(self)
        ref = _custom.LayerWeight(lambda: me().name if me() else "?", name, shape,
                                  bool(trainable))
        self._custom_weights.append(ref)
        return ref

    def _set(self, setter, *args):
        try:
            setter(self._ptr, *args)
        except BaseException:
            self.close()
            raise

    # -- lifetime and ownership --

    @property
    def _h(self):
        if self._ptr is None:
            if self._wrapped:
                raise StateError("this %s was handed to a Bidirectional layer; make a new "
                                 "one" % type(self).__name__)
            if self._freed:
                raise StateError("this %s was freed when %s failed; make a new layer"
                                 % (type(self).__name__, self._freed))
            raise StateError("this %s was closed (or its model was)" % type(self).__name__)
        return self._ptr

    @property
    def built(self):
        """True once the layer belongs to a model or was called (its shapes are known)."""
        return self._ptr is not None and (self._owner is not None or self._eager_built)

    @built.setter
    def built(self, value):
        pass  # Keras' build() sets it; here the library knows

    def _give_to(self, owner):
        """Marks the handle as owner's (a model's or a graph's memory), before
        bgm_model_add or bgm_layer_call takes it."""
        if self._owner is not None:
            raise StateError("layer '%s' already belongs to a model or was called on "
                             "KerasTensors; a layer can be in one model only" % self.name)
        h = self._h
        if self._custom_key is not None:
            _custom.give(self)
        self._owner = owner
        _lib.count("layer", -1)
        return h

    def _handover_failed(self, doing="adding it to a model"):
        self._ptr, self._owner, self._freed = None, None, doing

    def _detach(self, model):
        """model (a model's memory) was closed: a Sequential's layer handle is gone
        with it; a graph's layer stays, without weights."""
        if self._owner is model:
            self._ptr, self._owner = None, None
        self._model = None

    def _weights_owner(self):
        model = self._model
        if isinstance(model, weakref.ref):
            model = model()
        return model if self._ptr is not None else None

    @classmethod
    def _view(cls, ptr, owner, model=None):
        """A layer object over ptr, a layer owner (a model's or a graph's memory)
        owns: how a loaded model's layers, and a graph's whose object is gone,
        appear. model: the memory holding its weights (default owner)."""
        layer = cls.__new__(cls)
        layer._ptr, layer._owner, layer.input_shape = ptr, owner, None
        layer._model = owner if model is None else model
        return layer

    def __call__(self, inputs, training=None):
        """The layer called on a KerasTensor (or a list of them, for the merge
        layers): a new KerasTensor. Calling it again shares its weights. On
        data (numpy arrays or Tensors) it runs at once and returns a Tensor:
        the first call builds the layer and makes its weights, an active
        GradientTape records the call (training=True: Dropout and
        BatchNormalization in training mode)."""
        return call_layer(self, inputs, training)

    # Keras' attributes for a kind's weights (layer.kernel, layer.bias, ...)
    _WEIGHT_ATTRS = ("kernel", "bias", "recurrent_kernel", "gamma", "beta",
                     "moving_mean", "moving_variance", "embeddings")

    def __getattr__(self, attr):
        if attr in Layer._WEIGHT_ATTRS and self.__dict__.get("_ptr") is not None:
            for w in self._model_weights():
                if w.name.rsplit("/", 1)[-1] == attr:
                    return w
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, attr))

    # -- what the layer is --

    @property
    def kind(self):
        """The Keras class name: 'Dense', 'Conv2D', 'MaxPooling2D', ..."""
        return lib.bgm_layer_kind(self._h).decode()

    @property
    def name(self):
        """The layer's name ('dense_1' once added, or the one given); '' before."""
        if self._ptr is None:
            return "<closed>"
        return lib.bgm_layer_name(self._ptr).decode()

    @property
    def output_shape(self):
        """(None, ...) like Keras, once the layer is in a model or called; None before."""
        n = ctypes.c_int()
        dims = lib.bgm_layer_output_shape(self._h, ctypes.byref(n))
        if not dims:
            return None
        return (None,) + tuple(dims[i] for i in range(n.value))

    def get_config(self):
        """The layer's configuration as Keras gives it (``name``, ``trainable``
        and every option of its kind, e.g. ``units``, ``activation``), read
        from the library's description of the kind."""
        needed = ctypes.c_size_t()
        lib.bgm_layer_config_string(None, 0, ctypes.byref(needed), self._h)
        buf = ctypes.create_string_buffer(needed.value)
        lib.bgm_layer_config_string(buf, needed.value, None, self._h)
        return json.loads(buf.value.decode())["config"]

    @classmethod
    def from_config(cls, config):
        """A new layer from its config (what get_config gives, or a Keras 3
        layer config of the same kind), checked by the library as its
        constructor checks it: Dense.from_config(dense.get_config()) is an
        equal, unbuilt layer. A user-defined subclass gets cls(**config)."""
        kind = _kind_of(cls)
        if kind is None:
            if cls is Layer:
                raise InvalidArgumentError("Layer.from_config: use the class of a layer kind "
                                           "(Dense, Conv2D, ...) or bigmodel.layers.deserialize")
            return cls(**config)   # a user-defined layer, as Keras: cls(**config)
        return _from_config_json(json.dumps({"class_name": kind, "config": config}), cls)

    def count_params(self):
        """Number of weights (trainable and not); 0 before the layer is added or called."""
        return lib.bgm_layer_num_params(self._h)

    # -- weights (through the model) --

    def _model_weights(self):
        model = self._weights_owner()
        if model is None:
            if self._eager_built and self._ptr is not None:
                from .eager import own_weights
                return own_weights(self)
            return []
        from .model import weight_tensors
        return weight_tensors(model, self.name + "/")

    @property
    def weights(self):
        """This layer's weight tensors: views of the weights of its model, or
        outside a model its own (made by its first call on data); none before."""
        return self._model_weights()

    @property
    def trainable(self):
        """Keras' layer.trainable: False freezes the layer's weights (and runs a
        BatchNormalization in inference mode). It may change at any time, before
        or after the layer joins a model: ``trainable_weights`` and the summary
        follow at once, fit from the next ``compile``, as in Keras. A
        Bidirectional layer's flag is its wrapped layer's too."""
        return bool(lib.bgm_layer_trainable(self._h))

    @trainable.setter
    def trainable(self, value):
        lib.bgm_layer_set_trainable(self._h, int(bool(value)))

    @property
    def trainable_weights(self):
        return [w for w in self._model_weights() if w.trainable]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        return [w for w in self._model_weights() if not w.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """Copies of this layer's weights (numpy arrays, or nested lists without numpy)."""
        from .model import to_array
        return [to_array(w) for w in self._model_weights()]

    def set_weights(self, weights):
        mine = self._model_weights()
        weights = list(weights)
        if len(weights) != len(mine):
            raise InvalidArgumentError("layer '%s' has %d weights, got %d"
                                       % (self.name, len(mine), len(weights)))
        for w, value in zip(mine, weights):
            w.assign(value)

    def __repr__(self):
        if self._ptr is None:
            return "<%s closed>" % type(self).__name__
        return "<%s %s%s>" % (self.kind, self.name or "(unnamed)",
                              " output %s" % (self.output_shape,) if self.built else "")


class Dense(Layer):
    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name=None, input_shape=None, input_dim=None):
        super().__init__(lib.bgm_layer_dense(int(units), activation_code(activation)),
                         name, input_shape, input_dim)
        _weighted_options(self, use_bias, kernel_initializer, bias_initializer,
                          kernel_regularizer)


class Conv2D(Layer):
    """2-D convolution over NHWC images; strides, 'valid' or 'same' padding."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None,
                 input_shape=None):
        kh, kw = _pair(kernel_size, "kernel_size")
        super().__init__(lib.bgm_layer_conv2d(int(filters), kh, activation_code(activation)),
                         name, input_shape)
        if kw != kh:
            self._set(lib.bgm_layer_set_kernel_size, kh, kw)
        _window_options(self, strides, padding)
        _weighted_options(self, use_bias, kernel_initializer, bias_initializer,
                          kernel_regularizer)


class Conv1D(Layer):
    """1-D convolution over (N, T, C) sequences (Keras 3): kernel (kernel_size, C,
    filters); padding 'valid', 'same' or 'causal' (left padding of
    dilation_rate * (kernel_size - 1) steps); strides > 1 and dilation_rate > 1
    together are refused, as Keras does."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None,
                 input_shape=None):
        k = _single(kernel_size, "kernel_size")
        s, d = _single(strides, "strides"), _single(dilation_rate, "dilation_rate")
        code = _padding(padding, PADDINGS_1D)
        super().__init__(lib.bgm_layer_conv1d(int(filters), k, activation_code(activation)),
                         name, input_shape)
        if s != 1:
            self._set(lib.bgm_layer_set_strides, s, s)
        if d != 1:
            self._set(lib.bgm_layer_set_dilation_rate, d, d)
        if code != 0:
            self._set(lib.bgm_layer_set_padding, code)
        _weighted_options(self, use_bias, kernel_initializer, bias_initializer,
                          kernel_regularizer)


class _Pooling(Layer):
    _make = None

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None,
                 input_shape=None):
        ph, pw = _pair(pool_size, "pool_size")
        super().__init__(type(self)._make(ph), name, input_shape)
        if pw != ph:
            self._set(lib.bgm_layer_set_pool_size, ph, pw)
        _window_options(self, strides, padding)


class MaxPooling2D(_Pooling):
    _make = staticmethod(lambda p: lib.bgm_layer_max_pool2d(p))


class AveragePooling2D(_Pooling):
    _make = staticmethod(lambda p: lib.bgm_layer_avg_pool2d(p))


class GlobalAveragePooling2D(Layer):
    def __init__(self, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_global_avg_pool2d(), name, input_shape)


class Flatten(Layer):
    def __init__(self, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_flatten(), name, input_shape)


class Dropout(Layer):
    """Inverted dropout; its draws come from the model's seeded generator."""

    def __init__(self, rate, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_dropout(float(rate)), name, input_shape)


class BatchNormalization(Layer):
    """synchronized: with a communicator (bigmodel.distributed.attach), the
    batch statistics of training are those of every rank's rows (Keras 3's
    synchronized, PyTorch's SyncBatchNorm); without one it changes nothing."""

    def __init__(self, momentum=0.99, epsilon=1e-3, synchronized=False, name=None,
                 input_shape=None):
        super().__init__(lib.bgm_layer_batch_norm(), name, input_shape)
        if momentum != 0.99:
            self._set(lib.bgm_layer_set_momentum, float(momentum))
        if epsilon != 1e-3:
            self._set(lib.bgm_layer_set_epsilon, float(epsilon))
        if synchronized:
            self._set(lib.bgm_layer_set_synchronized, 1)


class LayerNormalization(Layer):
    """Normalizes each position over its features (the last axis, the only one
    supported): (x - mean) / sqrt(var + epsilon) * gamma + beta."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, name=None,
                 input_shape=None):
        super().__init__(lib.bgm_layer_layer_norm(), name, input_shape)
        _norm_options(self, axis, epsilon, 1e-3)
        if not center:
            self._set(lib.bgm_layer_set_center, 0)
        if not scale:
            self._set(lib.bgm_layer_set_scale, 0)


class RMSNormalization(Layer):
    """x / sqrt(mean(x^2) + epsilon) * scale over the last axis."""

    def __init__(self, axis=-1, epsilon=1e-6, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_rms_norm(), name, input_shape)
        _norm_options(self, axis, epsilon, 1e-6)


def _norm_options(layer, axis, epsilon, default_epsilon):
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            layer.close()
            raise InvalidArgumentError("%s normalizes over one axis (the last), got axis=%r"
                                       % (type(layer).__name__, axis))
        axis = axis[0]
    if axis != -1:
        layer._set(lib.bgm_layer_set_axis, int(axis))
    if epsilon != default_epsilon:
        layer._set(lib.bgm_layer_set_epsilon, float(epsilon))


class GlobalAveragePooling1D(Layer):
    """Mean over the steps of (N, T, C) sequences, over the unmasked steps when a
    padding mask arrives (an Embedding with mask_zero=True before it)."""

    def __init__(self, data_format=None, keepdims=False, name=None, input_shape=None):
        if data_format not in (None, "channels_last"):
            raise InvalidArgumentError("GlobalAveragePooling1D supports "
                                       "data_format='channels_last' only, got %r"
                                       % (data_format,))
        super().__init__(lib.bgm_layer_global_avg_pool1d(), name, input_shape)
        if keepdims:
            self._set(lib.bgm_layer_set_keepdims, 1)


GlobalAvgPool1D = GlobalAveragePooling1D


class Activation(Layer):
    def __init__(self, activation, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_activation(activation_code(activation)), name,
                         input_shape)


class ReLU(Activation):
    def __init__(self, name=None, input_shape=None):
        super().__init__("relu", name, input_shape)


class LeakyReLU(Activation):
    """max(x, negative_slope * x); Keras' default slope is 0.3."""

    def __init__(self, negative_slope=0.3, name=None, input_shape=None):
        super().__init__("leaky_relu", name, input_shape)
        self._set(lib.bgm_layer_set_leaky_relu_alpha, float(negative_slope))


MaxPool2D, AvgPool2D, GlobalAvgPool2D = MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D


# ---- sequence layers ----------------------------------------------------------------
# A model whose first layer is an Embedding takes int32 token ids (N, T); the
# recurrent layers take float32 sequences (N, T, F).


class Embedding(Layer):
    """Token ids in [0, input_dim) to output_dim-vectors; must be the model's first
    layer (input_length=T gives the model its input shape (T,)).
    embeddings_initializer: a name ("uniform", Keras' default, "glorot_uniform",
    ...) or a (input_dim, output_dim) matrix of initial rows; matrix= also gives
    one (e.g. word2vec vectors; trainable=False keeps them fixed)."""

    def __init__(self, input_dim, output_dim, mask_zero=False, trainable=True,
                 embeddings_initializer="uniform", matrix=None, input_length=None,
                 name=None, input_shape=None):
        if input_shape is None and input_length is not None:
            input_shape = (int(input_length),)
        super().__init__(lib.bgm_layer_embedding(int(input_dim), int(output_dim)), name,
                         input_shape)
        if embeddings_initializer is not None and not isinstance(embeddings_initializer,
                                                                 str):
            matrix, embeddings_initializer = embeddings_initializer, None
        if embeddings_initializer is not None and embeddings_initializer != "uniform":
            self._set(lib.bgm_layer_set_kernel_initializer,
                      _initializer(embeddings_initializer, "embeddings_initializer"))
        if matrix is not None:
            from .tensor import as_tensor, float32
            try:
                m = as_tensor(matrix, float32)
            except BaseException:
                self.close()
                raise
            self._set(lib.bgm_layer_set_embedding_matrix, m._h)
        if mask_zero:
            self._set(lib.bgm_layer_set_mask_zero, 1)
        if not trainable:
            self._set(lib.bgm_layer_set_trainable, 0)

    def __call__(self, inputs, reverse=False):
        """Token ids (int32) to vectors; with reverse=True (keras_hub's
        ReversibleEmbedding), float32 vectors (..., output_dim) to logits
        (..., input_dim) = inputs @ embeddings.T, the tied output projection.
        It shares the embedding matrix, so the layer must have been called on
        ids first; training sums the gradients of both uses."""
        dtype = getattr(inputs, "dtype", None)
        if reverse and dtype == "int32":
            raise InvalidArgumentError("Embedding(reverse=True) projects float32 vectors "
                                       "to logits; got int32 token ids")
        if not reverse and dtype == "float32":
            raise InvalidArgumentError("Embedding looks up int32 token ids; call it with "
                                       "reverse=True to project float32 vectors to logits")
        return call_layer(self, inputs)


class ReversibleEmbedding(Embedding):
    """keras_hub's ReversibleEmbedding with tie_weights=True: an Embedding whose
    call with reverse=True is the tied output projection."""

    def __init__(self, input_dim, output_dim, tie_weights=True, **kwargs):
        if not tie_weights:
            raise InvalidArgumentError("ReversibleEmbedding(tie_weights=False) is not "
                                       "supported: use a Dense layer for the projection")
        super().__init__(input_dim, output_dim, **kwargs)


class PositionEmbedding(Layer):
    """keras_hub's PositionEmbedding: called on (N, T, d) embeddings (T <=
    sequence_length), the learned rows 0..T-1 of "embeddings" (sequence_length,
    d) in that shape; add them to the token embeddings. Passes the mask on."""

    def __init__(self, sequence_length, initializer="glorot_uniform", name=None,
                 input_shape=None):
        super().__init__(lib.bgm_layer_position_embedding(int(sequence_length)), name,
                         input_shape)
        if initializer != "glorot_uniform":
            self._set(lib.bgm_layer_set_kernel_initializer,
                      _initializer(initializer, "initializer"))


class SinePositionEncoding(Layer):
    """keras_hub's SinePositionEncoding: called on (N, T, d), the fixed
    sinusoids of "Attention is all you need" in that shape (sine on even
    features, cosine on odd ones); no weights. Passes the mask on."""

    def __init__(self, max_wavelength=10000, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_sine_position_encoding(float(max_wavelength)), name,
                         input_shape)


class _Recurrent(Layer):
    _make = None

    def __init__(self, units, return_sequences=False, dropout=0.0, recurrent_dropout=0.0,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", trainable=True, name=None, input_shape=None):
        super().__init__(type(self)._make(int(units)), name, input_shape)
        if return_sequences:
            self._set(lib.bgm_layer_set_return_sequences, 1)
        if dropout:
            self._set(lib.bgm_layer_set_dropout, float(dropout))
        if recurrent_dropout:
            self._set(lib.bgm_layer_set_recurrent_dropout, float(recurrent_dropout))
        _weighted_options(self, use_bias, kernel_initializer, bias_initializer, None)
        if not trainable:
            self._set(lib.bgm_layer_set_trainable, 0)


class LSTM(_Recurrent):
    """Long short-term memory: (N, T, F) to (N, units), or (N, T, units) with
    return_sequences=True."""
    _make = staticmethod(lambda units: lib.bgm_layer_lstm(units))


class GRU(_Recurrent):
    """Gated recurrent unit (Keras' reset_after=True): shapes as LSTM."""
    _make = staticmethod(lambda units: lib.bgm_layer_gru(units))


class Bidirectional(Layer):
    """layer (an LSTM or GRU not in a model) run forward and in reverse, outputs
    concatenated on the last axis. Takes layer's handle, as Sequential.add does:
    the layer object is then used up (make a new one for another model)."""

    def __init__(self, layer, name=None, input_shape=None):
        if not isinstance(layer, Layer):
            raise InvalidArgumentError("Bidirectional takes an LSTM or GRU layer, got %r"
                                       % (layer,))
        if layer._owner is not None:
            raise StateError("layer '%s' already belongs to a model or a Bidirectional "
                             "layer" % layer.name)
        inner = layer._h
        layer._ptr, layer._wrapped = None, True  # the library owns it now, or freed it
        _lib.count("layer", -1)
        super().__init__(lib.bgm_layer_bidirectional(inner), name,
                         input_shape if input_shape is not None else layer.input_shape)


# ---- merging and reshaping (bigmodel/graph.h) --------------------------------------
# The merges take a list of KerasTensors of one shape (a dimension of 1
# broadcasts); Subtract exactly two.


class _Merge(Layer):
    """An elementwise merge: made by bgm_layer_<its class name in lower case>."""

    def __init__(self, name=None):
        super().__init__(getattr(lib, "bgm_layer_" + type(self).__name__.lower())(), name)


class Add(_Merge):
    """The sum of the inputs."""


class Subtract(_Merge):
    """inputs[0] - inputs[1]."""


class Multiply(_Merge):
    """The elementwise product of the inputs."""


class Average(_Merge):
    """The mean of the inputs."""


class Maximum(_Merge):
    """The elementwise maximum of the inputs."""


class Minimum(_Merge):
    """The elementwise minimum of the inputs."""


class Concatenate(Layer):
    """The inputs joined along axis (counted with the batch axis, as Keras: -1 is
    the last); every other dimension must match."""

    def __init__(self, axis=-1, name=None):
        super().__init__(lib.bgm_layer_concatenate(int(axis)), name)


class Reshape(Layer):
    """Each sample to target_shape (one entry may be -1), the same values in order."""

    def __init__(self, target_shape, name=None, input_shape=None):
        dims, ndim = _lib.shape_array(_input_shape(target_shape))
        super().__init__(lib.bgm_layer_reshape(dims, ndim), name, input_shape)


class Permute(Layer):
    """Reorders the sample axes: dims is a permutation of 1..ndim (1-based, the
    batch axis stays first); Permute((2, 1)) swaps the two axes of (T, F)."""

    def __init__(self, dims, name=None, input_shape=None):
        dims = tuple(int(d) for d in dims)
        arr = (ctypes.c_int * max(len(dims), 1))(*dims)
        super().__init__(lib.bgm_layer_permute(arr, len(dims)), name, input_shape)


def _padding2d(padding):
    """((top, bottom), (left, right)) of Keras' forms: p, (h, w), ((t, b), (l, r))."""
    if isinstance(padding, numbers.Integral):
        return (int(padding),) * 2, (int(padding),) * 2
    try:
        rows, cols = padding
        return _pair(rows, "padding rows"), _pair(cols, "padding columns")
    except (TypeError, ValueError):
        raise InvalidArgumentError("padding must be an int, (rows, columns) or ((top, "
                                   "bottom), (left, right)), got %r" % (padding,)) from None


class ZeroPadding2D(Layer):
    """Rows and columns of zeros around NHWC images: padding=1, (1, 2) (symmetric
    rows, columns) or ((top, bottom), (left, right))."""

    def __init__(self, padding=(1, 1), data_format=None, name=None, input_shape=None):
        if data_format not in (None, "channels_last"):
            raise InvalidArgumentError("ZeroPadding2D takes NHWC images (data_format="
                                       "'channels_last'), got data_format=%r" % (data_format,))
        (top, bottom), (left, right) = _padding2d(padding)
        super().__init__(lib.bgm_layer_zero_padding2d(top, bottom, left, right), name,
                         input_shape)


class MultiHeadAttention(Layer):
    """Keras' MultiHeadAttention: num_heads heads of key_dim (value_dim defaults
    to key_dim), dropout on the attention probabilities in training, the
    output's last dimension output_shape (default: the query's). Called as
    ``mha(query, value, key=None, attention_mask=None, use_causal_mask=False,
    return_attention_scores=False)`` on KerasTensors: query (T, dim), value
    (S, dim_v), key (S, dim_k), attention_mask (T, S) float32 (1 attends, 0 does
    not); with return_attention_scores, (output, scores (heads, T, S)). Padding masks of an
    Embedding(mask_zero=True) before query, value or key flow in. Weights as
    Keras lays them out: query/kernel (dim, heads, key_dim), query/bias, key/...,
    value/..., attention_output/kernel (heads, value_dim, out), attention_output/
    bias. use_causal_mask and return_attention_scores are fixed at the first
    call (layer options in the library)."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", name=None):
        super().__init__(lib.bgm_layer_multi_head_attention(int(num_heads), int(key_dim)),
                         name)
        if value_dim is not None:
            self._set(lib.bgm_layer_set_value_dim, int(value_dim))
        if dropout:
            self._set(lib.bgm_layer_set_dropout, float(dropout))
        if output_shape is not None:
            if not isinstance(output_shape, numbers.Integral):
                dims = tuple(output_shape)
                if len(dims) != 1:
                    self.close()
                    raise InvalidArgumentError("output_shape must be an int or a 1-tuple, "
                                               "got %r" % (output_shape,))
                output_shape = dims[0]
            self._set(lib.bgm_layer_set_output_dim, int(output_shape))
        _weighted_options(self, use_bias, kernel_initializer, bias_initializer, None)

    def __call__(self, query, value, key=None, attention_mask=None, use_causal_mask=False,
                 return_attention_scores=False):
        config = self.get_config()
        for option, wanted, setter in [
                ("use_causal_mask", use_causal_mask, lib.bgm_layer_set_use_causal_mask),
                ("return_attention_scores", return_attention_scores,
                 lib.bgm_layer_set_return_attention_scores)]:
            if bool(wanted) == bool(config[option]):
                continue
            if self.built:
                raise StateError("MultiHeadAttention '%s': %s=%s was fixed at its first "
                                 "call" % (self.name, option, bool(config[option])))
            setter(self._h, int(bool(wanted)))
        inputs = [query, value]
        if key is not None or attention_mask is not None:
            inputs.append(key if key is not None else value)
        if attention_mask is not None:
            inputs.append(attention_mask)
        return call_layer(self, inputs)


class Rescaling(Layer):
    """Keras' Rescaling: inputs * scale + offset (no weights)."""

    def __init__(self, scale, offset=0.0, name=None, input_shape=None):
        super().__init__(lib.bgm_layer_rescaling(float(scale), float(offset)), name,
                         input_shape)


def _floats(values, what):
    """values (a number or an array-like) as a flat ctypes float array and its length."""
    try:
        flat = [float(v) for v in _flatten(values)]
    except (TypeError, ValueError):
        raise InvalidArgumentError("%s must be a number or an array of numbers, got %r"
                                   % (what, values)) from None
    return (ctypes.c_float * max(len(flat), 1))(*flat), len(flat)


def _flatten(values):
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (list, tuple)):
        for v in values:
            yield from _flatten(v)
    else:
        yield values


class Normalization(Layer):
    """Keras' Normalization over the last axis: (x - mean) / max(sqrt(variance),
    1e-7), with mean and variance from adapt(data) or given (a number, or one
    value per feature); invert=True undoes it. The statistics are
    non-trainable weights, saved with the model."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, name=None,
                 input_shape=None):
        if axis not in (-1, (-1,), [-1]):
            raise InvalidArgumentError("Normalization supports axis=-1 (the last axis) "
                                       "only, got axis=%r" % (axis,))
        if (mean is None) != (variance is None):
            raise InvalidArgumentError("Normalization: give both mean and variance, or "
                                       "neither (and call adapt)")
        super().__init__(lib.bgm_layer_normalization(int(bool(invert))), name, input_shape)
        if mean is not None:
            m, nm = _floats(mean, "mean")
            v, nv = _floats(variance, "variance")
            if nm != nv:
                self.close()
                raise InvalidArgumentError("Normalization: mean has %d values, variance %d"
                                           % (nm, nv))
            self._set(lib.bgm_layer_normalization_set_stats, m, v, nm)

    def adapt(self, data):
        """The per-feature mean and variance of data (samples on every axis but
        the last); before or after the layer joins a model."""
        from .tensor import as_tensor, float32
        data = as_tensor(data, float32)  # kept alive through the call
        lib.bgm_layer_normalization_adapt(self._h, data._h)
        model = self._weights_owner()
        if model is not None:
            model.invalidate_weights()


TEXT_OUTPUT_MODES = {"int": 0, "multi_hot": 1, "count": 2, "tf_idf": 3}
TEXT_STANDARDIZE = {"lower_and_strip_punctuation": 0, "lower": 1, "strip_punctuation": 2,
                    None: 3}
TEXT_SPLIT = {"whitespace": 0, "character": 1, None: 2}


def _option(value, names, what):
    if value not in names:
        raise InvalidArgumentError("unknown %s %r; expected one of %s" % (
            what, value, ", ".join(repr(k) for k in names)))
    return names[value]


def texts_array(texts, what="texts"):
    """A C array of UTF-8 strings for a list / numpy array of str (or bytes)."""
    if isinstance(texts, (str, bytes)):
        texts = [texts]
    items = [t for t in _flatten(texts)]
    if not all(isinstance(t, (str, bytes)) for t in items):
        bad = next(t for t in items if not isinstance(t, (str, bytes)))
        raise InvalidArgumentError("%s must be strings, got %r (a %s)"
                                   % (what, bad, type(bad).__name__))
    enc = [t if isinstance(t, bytes) else t.encode("utf-8") for t in items]
    return (ctypes.c_char_p * max(len(enc), 1))(*enc), len(enc)


class TextVectorization(Layer):
    """Keras' TextVectorization: raw strings to token ids ("int", padded with 0 and
    cut to output_sequence_length; 1 is [UNK]) or to bag-of-words vectors
    ("multi_hot", "count", "tf_idf"; index 0 is [UNK]). adapt(texts) learns the
    vocabulary (and the idf weights); both are saved with the model. In a
    Sequential model it comes first (its input is one string per sample), and
    fit / evaluate / predict then take lists (or numpy arrays) of str."""

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8",
                 name=None, input_shape=(1,)):
        if ngrams is not None or pad_to_max_tokens or sparse or ragged:
            raise InvalidArgumentError("TextVectorization: ngrams, pad_to_max_tokens, "
                                       "sparse and ragged are not supported")
        if str(encoding).lower().replace("-", "") != "utf8":
            raise InvalidArgumentError("TextVectorization reads UTF-8 only, got encoding=%r"
                                       % (encoding,))
        mode = _option(output_mode, TEXT_OUTPUT_MODES, "output_mode")
        std = _option(standardize, TEXT_STANDARDIZE, "standardize")
        spl = _option(split, TEXT_SPLIT, "split")
        super().__init__(lib.bgm_layer_text_vectorization(
            int(max_tokens or 0), mode, int(output_sequence_length or 0)), name, input_shape)
        if std:
            self._set(lib.bgm_layer_set_standardize, std)
        if spl:
            self._set(lib.bgm_layer_set_split, spl)
        if vocabulary is not None:
            try:
                self.set_vocabulary(vocabulary, idf_weights)
            except BaseException:
                self.close()
                raise

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from data: a list or numpy array of str."""
        arr, n = texts_array(data, "adapt's data")
        lib.bgm_layer_text_vectorization_adapt(self._h, arr, n)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """vocabulary: the tokens (Keras' leading "" / "[UNK]" are skipped);
        idf_weights (tf_idf only): one per token, or one more with [UNK]'s first."""
        tokens = [t for t in vocabulary if t not in ("", "[UNK]", b"", b"[UNK]")]
        arr, n = texts_array(tokens, "vocabulary")
        idf = None
        if idf_weights is not None:
            w = [float(v) for v in _flatten(idf_weights)]
            if len(w) == n:  # Keras: [UNK]'s weight is the mean of the others
                w = [sum(w) / len(w)] + w
            idf = (ctypes.c_float * max(len(w), 1))(*w)
            if len(w) != n + 1:
                raise InvalidArgumentError("idf_weights has %d values for %d tokens"
                                           % (len(w), n))
        lib.bgm_layer_set_vocabulary(self._h, arr, n, idf)

    def vocabulary_size(self):
        return lib.bgm_layer_vocabulary_size(self._h)

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens by id: "" and "[UNK]" first in "int" mode, "[UNK]" in the others."""
        out = []
        n = ctypes.c_int64()
        for i in range(self.vocabulary_size()):
            p = lib.bgm_layer_vocabulary_token(self._h, i, ctypes.byref(n))
            out.append(ctypes.string_at(p, n.value).decode("utf-8", "replace"))
        if not include_special_tokens:
            out = out[2:] if self.get_config()["output_mode"] == "int" else out[1:]
        return out

    def get_config(self):
        config = super().get_config()
        for key in ("standardize", "split"):
            if config.get(key) == "none":
                config[key] = None
        return config

    def __call__(self, inputs):
        """On KerasTensors: a graph call (its input is the vectorized text). On
        strings: the vectorized strings, as Keras (a numpy array or a Tensor)."""
        from .graph import KerasTensor
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(i, KerasTensor) for i in items):
            return call_layer(self, inputs)
        from .tensor import Tensor
        from . import _compat
        arr, n = texts_array(inputs)
        out = ctypes.c_void_p()
        lib.bgm_layer_text_vectorize(ctypes.byref(out), self._h, arr, n)
        t = Tensor._adopt(out.value)
        return t.numpy() if _compat.np is not None else t


def _merge_function(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = "%s(**kwargs)(inputs) (Keras' functional form)." % cls.__name__
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate = (
    _merge_function(cls) for cls in (Add, Subtract, Multiply, Average, Maximum, Minimum,
                                     Concatenate))

KINDS = {"Dense": Dense, "Conv2D": Conv2D, "MaxPooling2D": MaxPooling2D,
         "AveragePooling2D": AveragePooling2D,
         "GlobalAveragePooling2D": GlobalAveragePooling2D, "Flatten": Flatten,
         "Dropout": Dropout, "BatchNormalization": BatchNormalization,
         "LayerNormalization": LayerNormalization, "RMSNormalization": RMSNormalization,
         "GlobalAveragePooling1D": GlobalAveragePooling1D,
         "Activation": Activation, "Embedding": Embedding, "LSTM": LSTM, "GRU": GRU,
         "Bidirectional": Bidirectional, "Add": Add, "Subtract": Subtract,
         "Multiply": Multiply, "Average": Average, "Maximum": Maximum, "Minimum": Minimum,
         "Concatenate": Concatenate, "Reshape": Reshape, "Permute": Permute,
         "ZeroPadding2D": ZeroPadding2D, "Conv1D": Conv1D,
         "PositionEmbedding": PositionEmbedding, "SinePositionEncoding": SinePositionEncoding,
         "MultiHeadAttention": MultiHeadAttention, "Rescaling": Rescaling,
         "Normalization": Normalization, "TextVectorization": TextVectorization}


def _kind_of(cls):
    """The library kind a Layer class makes ('Dense' for Dense and its aliases)."""
    for klass in cls.__mro__:
        for kind, made in KINDS.items():
            if made is klass:
                return kind
    return None


def _from_config_json(text, cls=None):
    out = ctypes.c_void_p()
    lib.bgm_layer_from_config(ctypes.byref(out), text.encode("utf-8"))
    if cls is None:
        cls = KINDS.get(lib.bgm_layer_kind(out.value).decode(), Layer)
    layer = cls.__new__(cls)
    Layer.__init__(layer, out.value)
    return layer


def serialize(layer):
    """{"class_name": ..., "config": ...} of a layer (Keras' layers.serialize)."""
    return {"class_name": layer.kind, "config": layer.get_config()}


def deserialize(config, custom_objects=None):
    """The layer of a serialize()d config (Keras' layers.deserialize)."""
    if custom_objects:
        raise InvalidArgumentError("deserialize: custom_objects are not supported")
    return _from_config_json(json.dumps(config))


def _from_model(ptr, owner, model=None):
    """The Layer object (of the class its kind names) over ptr, a layer of owner
    (a model's or a graph's memory)."""
    layer = _custom.object_for(ptr) if lib.bgm_layer_user_data(ptr) else None
    if layer is not None:  # a user-defined layer: its own object
        layer._owner = owner
        layer._model = owner if model is None else model
        return layer
    kind = lib.bgm_layer_kind(ptr).decode()
    return KINDS.get(kind, Layer)._view(ptr, owner, model)


class Lambda(Layer):
    """Keras' Lambda: ``Lambda(function)`` runs function(inputs) (bigmodel ops)
    as a layer. A model file keeps the function's registered name only
    (register_keras_serializable, or its __name__), and load_model finds it
    in custom_objects or the registry; a lambda expression cannot be loaded."""

    def __init__(self, function, output_shape=None, **kwargs):
        if isinstance(function, str):
            self._function_name, function = function, _custom.lookup_function(function)
        else:
            if not callable(function):
                raise InvalidArgumentError("Lambda: function must be callable, got %r"
                                           % (function,))
            self._function_name = _custom.registered_name(function)
        self.function = function
        self._output_shape = None if output_shape is None else tuple(output_shape)
        super().__init__(**kwargs)

    def call(self, inputs):
        return self.function(inputs)

    def compute_output_shape(self, input_shape):
        return None if self._output_shape is None else (None,) + self._output_shape

    def get_config(self):
        config = super().get_config()
        config["function"] = self._function_name
        return config


def _window_options(layer, strides, padding):
    if strides is not None:
        layer._set(lib.bgm_layer_set_strides, *_pair(strides, "strides"))
    code = _padding(padding)
    if code != 0:
        layer._set(lib.bgm_layer_set_padding, code)


def _weighted_options(layer, use_bias, kernel_initializer, bias_initializer,
                      kernel_regularizer):
    if not use_bias:
        layer._set(lib.bgm_layer_set_use_bias, 0)
    if kernel_initializer != "glorot_uniform":
        layer._set(lib.bgm_layer_set_kernel_initializer,
                   _initializer(kernel_initializer, "kernel_initializer"))
    if bias_initializer != "zeros":
        layer._set(lib.bgm_layer_set_bias_initializer,
                   _initializer(bias_initializer, "bias_initializer"))
    l2 = _l2_value(kernel_regularizer)
    if l2:
        layer._set(lib.bgm_layer_set_kernel_l2, l2)
