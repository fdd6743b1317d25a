"""Checkpoints: read PyTorch .pth / .pth.tar (no PyTorch needed) and safetensors; convert.

    from ov3d.checkpoint import Checkpoint, convert
    with Checkpoint("model_best.pth.tar") as ck:
        print(len(ck), ck.metadata("epoch"))
        w = ck["net3d.final.kernel"]            # numpy float32 array
    convert("model_best.pth.tar", "model.safetensors", voxel_size=0.02, labels=["wall", "floor"])

Nothing in a checkpoint is executed: hostile files raise ov3d.FormatError.
"""
import ctypes

import numpy as np

from ._lib import OwnedHandle, check, lib, signature

__all__ = ["Checkpoint", "convert"]


class ConvertParams(ctypes.Structure):
    """ctypes mirror of ov3d_convert_params."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("strip_prefixes", ctypes.c_int32), ("verify_crc", ctypes.c_int32),
                ("n_threads", ctypes.c_int32), ("voxel_size", ctypes.c_double), ("architecture", ctypes.c_char_p),
                ("labels", ctypes.POINTER(ctypes.c_char_p)), ("n_labels", ctypes.c_size_t)]


_P = ctypes.c_void_p
signature("ov3d_convert_default_params", ConvertParams, [])
signature("ov3d_convert", ctypes.c_int32, [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ConvertParams)])
signature("ov3d_checkpoint_open", ctypes.c_int32, [ctypes.c_char_p, ctypes.POINTER(_P)])
signature("ov3d_checkpoint_free", None, [_P])
signature("ov3d_checkpoint_count", ctypes.c_int32, [_P, ctypes.POINTER(ctypes.c_size_t)])
signature("ov3d_checkpoint_tensor", ctypes.c_int32,
          [_P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
           ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int64), ctypes.c_size_t])
signature("ov3d_checkpoint_find", ctypes.c_int32, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)])
signature("ov3d_checkpoint_read_f32", ctypes.c_int32, [_P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t])
signature("ov3d_checkpoint_metadata", ctypes.c_int32, [_P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)])
signature("ov3d_checkpoint_uncertainty_weights", ctypes.c_int32, [_P, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t])


def convert(src, dst, *, voxel_size=None, labels=None, architecture=None, strip_prefixes=False, verify_crc=True,
            n_threads=0):
    """Converts a checkpoint (torch zip, legacy torch or safetensors) to safetensors with ov3d metadata."""
    p = lib().ov3d_convert_default_params()
    p.strip_prefixes = 1 if strip_prefixes else 0
    p.verify_crc = 1 if verify_crc else 0
    p.n_threads = int(n_threads)
    if voxel_size is not None:
        p.voxel_size = float(voxel_size)
    if architecture is not None:
        p.architecture = architecture.encode()
    keep = None
    if labels is not None:
        keep = (ctypes.c_char_p * len(labels))(*[str(x).encode() for x in labels])
        p.labels = ctypes.cast(keep, ctypes.POINTER(ctypes.c_char_p))
        p.n_labels = len(labels)
    check(lib().ov3d_convert(str(src).encode(), str(dst).encode(), ctypes.byref(p)))


class Checkpoint(OwnedHandle):
    """An opened checkpoint: names, dtypes and shapes of its tensors, float32 values, metadata.
    Immutable; safe to share between threads."""

    _free = "ov3d_checkpoint_free"

    def __init__(self, path):
        h = _P()
        check(lib().ov3d_checkpoint_open(str(path).encode(), ctypes.byref(h)))
        self._h = h

    def __len__(self):
        n = ctypes.c_size_t()
        check(lib().ov3d_checkpoint_count(self._h, ctypes.byref(n)))
        return n.value

    def info(self, index):
        """(name, dtype, shape) of tensor `index`."""
        name, dt, rank = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_size_t()
        shape = (ctypes.c_int64 * 32)()
        check(lib().ov3d_checkpoint_tensor(self._h, index, ctypes.byref(name), ctypes.byref(dt), ctypes.byref(rank), shape, 32))
        return name.value.decode(), dt.value.decode(), tuple(shape[i] for i in range(rank.value))

    def keys(self):
        return [self.info(i)[0] for i in range(len(self))]

    def index(self, name):
        i = ctypes.c_size_t()
        check(lib().ov3d_checkpoint_find(self._h, name.encode(), ctypes.byref(i)))
        return i.value

    def __getitem__(self, name):
        """The tensor `name` converted to a float32 numpy array of its shape."""
        i = self.index(name)
        shape = self.info(i)[2]
        out = np.empty(shape, dtype=np.float32)
        check(lib().ov3d_checkpoint_read_f32(self._h, i, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size))
        return out

    def metadata(self, key):
        """Metadata value (str) or None."""
        v = ctypes.c_char_p()
        check(lib().ov3d_checkpoint_metadata(self._h, key.encode(), ctypes.byref(v)))
        return None if v.value is None else v.value.decode()

    def uncertainty_weights(self):
        """CUA-O3D's learned per-teacher sigmas (LSeg, DINOv2, SD) from an awl_model checkpoint."""
        out = np.zeros(3, dtype=np.float32)
        check(lib().ov3d_checkpoint_uncertainty_weights(self._h, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 3))
        return out
