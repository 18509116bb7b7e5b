#!/usr/bin/env python3
"""Writes the small torch.save-format fixtures next to this script. Needs only the Python 3
standard library (no torch): it mimics what torch.save (zip format, pickle protocol 2) writes.

  python3 tests/data/torch_save/make_fixtures.py

Container layout, as torch.save writes it: stored (uncompressed) zip members
  <archive>/data.pkl, <archive>/data/<key> (raw little-endian storage bytes), <archive>/version.
The pickle is produced by Python's own pickle module from stand-in objects registered under the
names torch uses (torch._utils._rebuild_tensor_v2, torch.FloatStorage, ...), with storages
written as persistent ids ('storage', <type>, key, 'cpu', numel), exactly as torch.save does.
"""
import collections
import os
import pickle
import struct
import sys
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

# --- stand-ins for the torch globals a state_dict pickle names -------------------------------
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _rebuild_tensor_v2(*args):  # never called: these fixtures are only written here
    raise RuntimeError("stand-in")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2

STORAGE_FORMATS = {"FloatStorage": "f", "DoubleStorage": "d", "LongStorage": "q",
                   "HalfStorage": "e", "BoolStorage": "?"}
for _name in STORAGE_FORMATS:
    setattr(torch, _name, type(_name, (), {"__module__": "torch"}))


class Storage:
    def __init__(self, type_name, key, values):
        self.type = getattr(torch, type_name)
        self.key = key
        self.numel = len(values)
        self.data = struct.pack("<%d%s" % (len(values), STORAGE_FORMATS[type_name]), *values)


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.type, obj.key, "cpu", obj.numel)
        return None


def storages_of(obj, found):
    if isinstance(obj, Tensor):
        found[obj.args[0].key] = obj.args[0]
    elif isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            storages_of(v, found)
    return found


def write_archive(file_name, pickle_bytes, storages=(), byteorder=None):
    archive = os.path.splitext(file_name)[0]
    def member(name):  # fixed timestamp: re-running the script gives identical bytes
        return zipfile.ZipInfo(archive + "/" + name, date_time=(2024, 1, 1, 0, 0, 0))

    with zipfile.ZipFile(os.path.join(HERE, file_name), "w", zipfile.ZIP_STORED) as z:
        z.writestr(member("data.pkl"), pickle_bytes)
        if byteorder is not None:  # torch >= 2.1 writes this record
            z.writestr(member("byteorder"), byteorder)
        for s in storages:
            z.writestr(member("data/" + s.key), s.data)
        z.writestr(member("version"), b"3\n")


def torch_pickle(obj):
    import io
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


# --- plain_dict.pt: a top-level plain dict of tensors covering dtypes and view geometry --------
weights = Storage("FloatStorage", "0", [0.5, -1.25, 2.0, 3.5, -4.0, 0.001])
plain = {
    "weight": Tensor(weights, 0, (2, 3), (3, 1)),
    "weight_t": Tensor(weights, 0, (3, 2), (1, 3)),      # transposed view, same storage
    "tail": Tensor(weights, 4, (2,), (1,)),              # storage offset 4
    "steps": Tensor(Storage("LongStorage", "1", [1234567890123]), 0, (), ()),
    "mask": Tensor(Storage("BoolStorage", "2", [True, False, True]), 0, (3,), (1,)),
    "half": Tensor(Storage("HalfStorage", "3", [1.5, -2.0]), 0, (2,), (1,)),
    "double": Tensor(Storage("DoubleStorage", "4", [3.141592653589793, -1e300]), 0, (2,), (1,)),
    "empty": Tensor(Storage("FloatStorage", "5", []), 0, (0,), (1,)),
}
plain_pickle = torch_pickle(plain)
write_archive("plain_dict.pt", plain_pickle, storages_of(plain, {}).values())

# --- truncated_pickle.pt: a valid zip whose data.pkl stops half-way ---------------------------
write_archive("truncated_pickle.pt", plain_pickle[: len(plain_pickle) // 2], storages_of(plain, {}).values())

# --- bad_view.pt: a tensor whose sizes/strides reach past the end of its 3-element storage ----
short = Storage("FloatStorage", "0", [1.0, 2.0, 3.0])
bad_view = {"too_long": Tensor(short, 1, (3,), (1,))}
write_archive("bad_view.pt", torch_pickle(bad_view), [short])

# --- forbidden_global.pt: data.pkl is `os.system('echo pwned')`, assembled by hand ------------
# PROTO 2; GLOBAL 'os system'; BINUNICODE 'echo pwned'; TUPLE1; REDUCE; STOP.
command = b"echo pwned"
forbidden = (b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(command)) + command +
             b"\x85" + b"R" + b".")
write_archive("forbidden_global.pt", forbidden)

# --- golden_like.pt: shaped like a golden forward file with a dict-valued output --------------
ramp = Storage("FloatStorage", "0", [float(i) for i in range(12)])
golden_like = {
    "model": "tiny",
    "raw": Tensor(ramp, 0, (1, 3, 4), (12, 4, 1)),
    "output": {
        "Detection": Tensor(ramp, 0, (1, 1, 4), (12, 4, 1)),
        "P": Tensor(ramp, 4, (1, 1, 4), (12, 4, 1)),
        "S": Tensor(ramp, 8, (1, 1, 4), (12, 4, 1)),
    },
    "labels": ["Detection", "P", "S"],
    # A one-element list is pickled with APPEND, which libtorch 1.13's unpickler cannot read.
    "window_sources": ["ramp 0..11"],
    # Scalars of every kind the reader supports: BININT1/BININT2/BININT/LONG1, BINFLOAT,
    # NEWTRUE/NEWFALSE, NONE; plus a tuple.
    "model_args": {"in_channels": 3, "length": 6000, "offset": -5, "big": -(2 ** 40),
                   "sampling_rate": 100.0, "flag": True, "off": False, "nothing": None},
    "shape": (1, 3, 4),
}
write_archive("golden_like.pt", torch_pickle(golden_like), storages_of(golden_like, {}).values())

# --- expanded_view.pt: one float viewed 2^30 times (stride 0), 4 GiB if copied out -------------
one = Storage("FloatStorage", "0", [1.0])
expanded = {"expanded": Tensor(one, 0, (1 << 30,), (0,))}
write_archive("expanded_view.pt", torch_pickle(expanded), [one])

# --- big_endian.pt: a one-tensor dict whose byteorder record says 'big' ------------------------
write_archive("big_endian.pt", torch_pickle({"w": Tensor(short, 0, (3,), (1,))}), [short], byteorder=b"big")

# --- little_endian.pt: the same with byteorder 'little', as torch >= 2.1 writes it -------------
write_archive("little_endian.pt", torch_pickle({"w": Tensor(short, 0, (3,), (1,))}), [short], byteorder=b"little")
