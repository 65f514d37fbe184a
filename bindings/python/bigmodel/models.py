"""Keras' ``keras.models`` namespace: Sequential, Model, load_model,
save_model, model_from_json and clone_model.

    clone = bigmodel.models.clone_model(model)          # same architecture, new weights
    same = bigmodel.models.model_from_json(model.to_json())
"""
import ctypes
import json
import os

from .errors import InvalidArgumentError, UnsupportedError
from .functional import Model
from .model import BaseModel, Sequential, load_model, model_from_json, new_seed, wrap_model
from ._lib import lib

__all__ = ["Sequential", "Model", "load_model", "save_model", "model_from_json",
           "clone_model"]


def save_model(model, filepath, overwrite=True, compress=False):
    """model.save(filepath) (Keras' save_model): the whole model as a .bgm file."""
    if not overwrite and os.path.exists(filepath):
        raise InvalidArgumentError("save_model: %s exists and overwrite=False" % filepath)
    model.save(filepath, compress=compress)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, seed=None, **kwargs):
    """A new model of model's architecture (the same layers, names, configs and
    graph, Sequential or functional) with freshly initialized weights drawn
    from seed (None: a new seed), uncompiled, as Keras' clone_model.

    clone_function(layer) may return the layer to use in place of each layer
    (default: ``layer.__class__.from_config(layer.get_config())``); the clone
    keeps the layer's name, so the graph stays wired. input_tensors and
    call_function (rebuilding the graph on other inputs) are not supported."""
    if not isinstance(model, BaseModel):
        raise InvalidArgumentError("clone_model takes a bigmodel model, got %r" % (model,))
    if input_tensors is not None or call_function is not None or kwargs:
        raise UnsupportedError("clone_model: input_tensors, call_function and other "
                               "options are not supported (the clone has the original's "
                               "inputs)")
    model._ensure_built()
    seed = new_seed() if seed is None else int(seed)
    if clone_function is None:
        out = ctypes.c_void_p()
        lib.bgm_model_clone(ctypes.byref(out), model._h, seed & (2**64 - 1))
        clone = wrap_model(out.value, model.name)
        clone.seed = seed
        return clone
    config = json.loads(model.to_json())
    for entry in config["config"]["layers"]:
        if entry["class_name"] == "InputLayer":
            continue
        original = model.get_layer(entry["config"]["name"])
        layer = clone_function(original)
        if layer is original:
            continue
        try:
            entry["class_name"] = layer.kind
            entry["config"] = dict(layer.get_config(), name=original.name)
        finally:
            if not layer.built:
                layer.close()
    return model_from_json(json.dumps(config), seed=seed)
