"""Keras' ``keras.backend`` namespace, for what applies here: clear_session()
starts a new default graph for bigmodel.Input (see bigmodel.graph)."""
from .graph import clear_session

__all__ = ["clear_session"]
