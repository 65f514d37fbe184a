"""Text generation with a language model (bigmodel/generate.h).

A language model takes int32 token ids of shape (T,) — T is its context —
and outputs next-token logits (T, vocab): a decoder-only Transformer, or an
LSTM over an Embedding. ``model.generate`` samples from it:

    ids = model.generate(prompt_ids, max_new_tokens=200, temperature=0.8,
                         top_k=40, seed=1)

``Decoder`` is the step-by-step form (the logits after each appended token,
with the key/value cache when the model's layers allow it), for custom
sampling or scoring:

    with bigmodel.Decoder(model) as d:
        logits = d.append(prompt_ids)      # (len(prompt_ids), vocab)
        logits = d.append([next_id])       # one position more

A decoder borrows its model: closing the model closes its decoders.
"""
import ctypes

from . import _compat
from ._handle import Handle
from ._lib import GenerateOptions, TOKEN_FN, lib
from .errors import InvalidArgumentError
from .tensor import Tensor


def _ids(tokens, what):
    """(ctypes int32 array, count) of a sequence of token ids."""
    if _compat.np is not None and isinstance(tokens, _compat.np.ndarray):
        tokens = tokens.reshape(-1).tolist()
    try:
        values = [int(t) for t in tokens]
    except TypeError:
        raise InvalidArgumentError("%s must be a sequence of token ids, got %r"
                                   % (what, type(tokens).__name__)) from None
    return (ctypes.c_int32 * max(len(values), 1))(*values), len(values)


def _result(ptr):
    t = Tensor._adopt(ptr)
    try:
        return t.numpy(copy=True) if _compat.np is not None else t.tolist()
    finally:
        t.close()


class Decoder(Handle):
    """Incremental decoding of one sequence on a language model
    (bgm_decoder). use_cache=False re-runs the window for every token."""

    _free_fn, _counter, _what = "bgm_decoder_free", "decoder", "decoder"

    def __init__(self, model, use_cache=True):
        self._model = model
        mem = model._mem
        if mem is None:
            raise InvalidArgumentError("the model is not built yet: call it or fit it first")
        self._make(lib.bgm_decoder_create, mem.h, 1 if use_cache else 0)
        self._mem = mem  # the model's memory outlives the decoder
        mem.decoders.add(self)

    @property
    def uses_cache(self):
        """True when the layers keep their keys and values between appends."""
        return bool(lib.bgm_decoder_uses_cache(self._h))

    def __len__(self):
        return int(lib.bgm_decoder_length(self._h))

    def append(self, tokens):
        """Appends token ids; returns the next-token logits after each, (n, vocab)."""
        ids, n = _ids(tokens, "tokens")
        out = ctypes.c_void_p()
        lib.bgm_decoder_append(ctypes.byref(out), self._h, ids, n)
        return _result(out.value)

    def reset(self):
        """Forgets the sequence: the next append starts a new one."""
        lib.bgm_decoder_reset(self._h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def generate(model, prompt, max_new_tokens=64, temperature=1.0, top_k=0, top_p=1.0,
             seed=0, stop_tokens=None, callback=None, use_cache=True):
    """The ids generated after prompt (an int32 numpy array, a list without
    numpy). temperature=0 is greedy; top_k=0 and top_p=1 keep every token;
    a generated stop token is the last one returned. callback(token, index)
    sees each new token as it comes and may return True to stop there; an
    exception it raises stops generation and is re-raised here."""
    ids, n = _ids(prompt, "prompt")
    stops, nstops = _ids(stop_tokens or [], "stop_tokens")
    opts = GenerateOptions()
    lib.bgm_generate_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
    opts.max_new_tokens = int(max_new_tokens)
    opts.temperature = float(temperature)
    opts.top_k = int(top_k)
    opts.top_p = float(top_p)
    opts.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    opts.stop_tokens = stops if nstops else None
    opts.num_stop_tokens = nstops
    opts.use_cache = 1 if use_cache else 0
    raised = []
    if callback is not None:
        def on_token(token, index, _user):
            try:
                return 1 if callback(int(token), int(index)) else 0
            except BaseException as exc:  # noqa: B902 (re-raised below)
                raised.append(exc)
                return 1
        c_fn = TOKEN_FN(on_token)
        opts.on_token = c_fn
    if model._mem is None:
        raise InvalidArgumentError("the model is not built yet: call it or fit it first")
    out = ctypes.c_void_p()
    lib.bgm_model_generate(ctypes.byref(out), model._mem.h, ids, n, ctypes.byref(opts))
    result = _result(out.value)
    if raised:
        raise raised[0]
    return result
