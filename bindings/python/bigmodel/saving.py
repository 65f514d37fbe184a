"""Keras' ``keras.saving`` namespace: registering user-defined layers and
Lambda functions under a name, so that load_model restores them (a model
file keeps names, never code)."""
from ._custom import custom_object_scope, register_keras_serializable, registered_name
from .model import load_model

__all__ = ["register_keras_serializable", "custom_object_scope", "get_registered_name",
           "load_model"]


def get_registered_name(obj):
    """The name obj (a Layer subclass or a function) is saved under."""
    return registered_name(obj)
