"""safetensors in plain Python (struct + json + numpy, no safetensors
package), as a PyTorch user without the package would read and write it:
the other side of the library's import and export in the tests."""
import json
import struct

import numpy as np

NP_OF = {"F32": np.float32, "I32": np.int32, "I64": np.int64}
ST_OF = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}


def read_safetensors(path):
    """Returns ({name: array} in file order, the __metadata__ dict or {})."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(NP_OF[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(blob[base + begin:base + end], dtype=dtype) \
            .reshape(info["shape"])
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} in order, with __metadata__ when given, the
    header padded with spaces to a multiple of 8 bytes."""
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        arr = np.require(arr, requirements="C")  # keeps 0-d arrays 0-d
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": ST_OF[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
