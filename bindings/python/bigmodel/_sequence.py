"""Keras' ``keras.preprocessing.sequence`` (bigmodel.preprocessing.sequence)."""
from .errors import InvalidArgumentError

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Keras' pad_sequences: an (n, maxlen) array of the integer sequences,
    padded with value and cut at the start ('pre') or end ('post'); maxlen
    None: the longest. dtype other than int32 converts the result (numpy)."""
    from .text import pad_sequences as pad
    if float(value) != int(value):
        raise InvalidArgumentError("pad_sequences pads integer sequences: value must be a "
                                   "whole number, got %r" % (value,))
    out = pad(sequences, maxlen, padding, truncating, int(value))
    if str(dtype) != "int32":
        out = out.astype(dtype)
    return out
