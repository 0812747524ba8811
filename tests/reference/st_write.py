"""Byte-reproducible safetensors writer.

safetensors.numpy.save_file serialises `__metadata__` from a Rust HashMap, so the
key order (and the file's bytes/sha256) changes from run to run. This writer emits
the same format with sorted keys and a fixed tensor order (item size, then name), so
regenerating identical data gives an identical file (no spurious git diffs).
The result is verified by reading it back with the official safetensors loader.
"""
import json
import struct

import numpy as np
from safetensors.numpy import load_file

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64",
           np.dtype("int64"): "I64", np.dtype("int32"): "I32"}


def save_file_sorted(tensors, path, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    # Like the official writer: larger item sizes first (then by name), so that every
    # tensor's data is aligned to its dtype size (the header is padded to 8 bytes).
    for name in sorted(tensors, key=lambda n: (-np.asarray(tensors[n]).dtype.itemsize, n)):
        a = np.ascontiguousarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    back = load_file(path)
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
