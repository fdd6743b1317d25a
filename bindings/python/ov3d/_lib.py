"""Locating and loading libov3d.so, status codes and exceptions.

The library is found, in order, at: $OV3D_LIBRARY (a file path), $OV3D_LIBRARY_DIR/libov3d.so,
the copy a platform wheel bundles beside this file, the build folders of a source checkout this
package sits in (.build/release, .build/debug), and the system's loader path (ldconfig /
LD_LIBRARY_PATH).
"""
import ctypes
import ctypes.util
import os
import threading
from pathlib import Path

import numpy as np

ABI_VERSION = 1


class Error(Exception):
    """Base class of every ov3d error. `code` is the ov3d_status (negative)."""

    code = -7

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(Error, ValueError):
    """A NULL/closed object, bad size, dtype, shape, NaN, ... (OV3D_ERR_INVALID_ARGUMENT)."""

    code = -1


class IOError_(Error, OSError):
    """A file could not be opened, read or written (OV3D_ERR_IO)."""

    code = -2


class FormatError(Error):
    """A file or buffer is malformed (OV3D_ERR_FORMAT)."""

    code = -3


class UnsupportedError(Error):
    """Valid but not supported: dtype, variant, version (OV3D_ERR_UNSUPPORTED)."""

    code = -4


class OutOfMemoryError(Error, MemoryError):
    """An allocation failed or a size limit was hit (OV3D_ERR_OUT_OF_MEMORY)."""

    code = -5


class CancelledError(Error):
    """A progress callback asked to stop (OV3D_ERR_CANCELLED)."""

    code = -6


class InternalError(Error):
    """A bug in ov3d; please report it with the message (OV3D_ERR_INTERNAL)."""

    code = -7


ERRORS = {cls.code: cls for cls in (InvalidArgumentError, IOError_, FormatError, UnsupportedError,
                                    OutOfMemoryError, CancelledError, InternalError)}


def _candidates():
    env = os.environ.get("OV3D_LIBRARY")
    if env:
        yield Path(env)
    d = os.environ.get("OV3D_LIBRARY_DIR")
    if d:
        yield Path(d) / "libov3d.so"
    here = Path(__file__).resolve()
    yield here.parent / "libov3d.so"  # bundled by the platform wheel
    for parent in here.parents:
        for cfg in ("release", "debug"):
            yield parent / ".build" / cfg / "libov3d.so"
        if (parent / "Package.swift").exists():
            break


_lib = None
_lock = threading.Lock()


def lib():
    """The loaded library (loaded on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for c in _candidates():
            tried.append(str(c))
            if c.is_file():
                _lib = _configure(ctypes.CDLL(str(c)))
                return _lib
        name = ctypes.util.find_library("ov3d")
        if name:
            _lib = _configure(ctypes.CDLL(name))
            return _lib
        raise ImportError(
            "libov3d.so not found. Build it (`make build` in the ov3d checkout) and set OV3D_LIBRARY to its path "
            "or OV3D_LIBRARY_DIR to its folder. Tried: " + ", ".join(tried))


_signatures = []


def signature(name, restype, argtypes):
    """Registers a C function signature, applied when the library loads (used by every module)."""
    _signatures.append((name, restype, argtypes))
    if _lib is not None:
        _apply(_lib, name, restype, argtypes)


def _apply(l, name, restype, argtypes):
    f = getattr(l, name, None)
    if f is None:
        raise ImportError(f"libov3d.so lacks {name}: the library is older than these bindings")
    f.restype = restype
    f.argtypes = argtypes


def _configure(l):
    for name, restype, argtypes in _signatures:
        _apply(l, name, restype, argtypes)
    if l.ov3d_check_abi(ABI_VERSION) != 0:
        raise ImportError(l.ov3d_last_error().decode("utf-8", "replace"))
    return l


def check(status):
    """Raises the exception for a non-zero status, with ov3d_last_error()'s message."""
    if status == 0:
        return
    msg = lib().ov3d_last_error().decode("utf-8", "replace") or lib().ov3d_status_string(status).decode()
    raise ERRORS.get(status, Error)(msg, status)


def as_array(a, dtype, name, ndim=None, shape_tail=None):
    """Checks that `a` is a C-contiguous numpy array of `dtype` (no silent copies of big data:
    the caller converts explicitly). Returns it."""
    if not isinstance(a, np.ndarray):
        raise InvalidArgumentError(f"{name} must be a numpy array, got {type(a).__name__}")
    if a.dtype != np.dtype(dtype):
        raise InvalidArgumentError(f"{name} must have dtype {np.dtype(dtype)}, got {a.dtype} (use .astype)")
    if not a.flags.c_contiguous:
        raise InvalidArgumentError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if ndim is not None and a.ndim != ndim:
        raise InvalidArgumentError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if shape_tail is not None and tuple(a.shape[-len(shape_tail):]) != tuple(shape_tail):
        raise InvalidArgumentError(f"{name} must have shape (..., {', '.join(map(str, shape_tail))}), got {a.shape}")
    return a


def ptr(a, ctype=ctypes.c_void_p):
    """A ctypes pointer to a numpy array's data (None for None)."""
    if a is None:
        return None
    return a.ctypes.data_as(ctypes.POINTER(ctype) if ctype is not ctypes.c_void_p else ctypes.c_void_p)


signature("ov3d_version", ctypes.c_char_p, [])
signature("ov3d_version_numbers", None, [ctypes.POINTER(ctypes.c_int32)] * 3)
signature("ov3d_abi_version", ctypes.c_uint32, [])
signature("ov3d_check_abi", ctypes.c_int32, [ctypes.c_uint32])
signature("ov3d_last_error", ctypes.c_char_p, [])
signature("ov3d_last_status", ctypes.c_int32, [])
signature("ov3d_status_string", ctypes.c_char_p, [ctypes.c_int32])
LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int32, ctypes.c_char_p, ctypes.c_void_p)
PROGRESS_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_float, ctypes.c_char_p, ctypes.c_void_p)
signature("ov3d_set_log_callback", ctypes.c_int32, [LOG_CALLBACK, ctypes.c_void_p, ctypes.c_int32])
signature("ov3d_set_num_threads", ctypes.c_int32, [ctypes.c_int32])
signature("ov3d_get_num_threads", ctypes.c_int32, [])


class Points(ctypes.Structure):
    """ctypes mirror of ov3d_points."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("color_order", ctypes.c_uint32), ("count", ctypes.c_size_t),
                ("xyz", ctypes.c_void_p), ("xyz_stride", ctypes.c_size_t),
                ("rgb", ctypes.c_void_p), ("rgb_stride", ctypes.c_size_t),
                ("normals", ctypes.c_void_p), ("normals_stride", ctypes.c_size_t),
                ("intensity", ctypes.c_void_p), ("intensity_stride", ctypes.c_size_t)]


def points_view(xyz, rgb=None, normals=None, intensity=None):
    """Builds an ov3d_points view over numpy arrays (xyz: N×3 float32; rgb: N×3 uint8;
    normals: N×3 float32; intensity: N float32). Rows may be strided (e.g. a column slice of a
    structured array) as long as each row's 3 values are contiguous. Returns (struct, keepalive)."""
    if not isinstance(xyz, np.ndarray) or xyz.dtype != np.float32 or xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InvalidArgumentError("xyz must be an N×3 float32 numpy array")
    if xyz.strides[1] != 4:
        raise InvalidArgumentError("xyz rows must hold x, y, z contiguously")
    v = Points()
    v.struct_size = ctypes.sizeof(Points)
    v.count = xyz.shape[0]
    v.xyz = xyz.ctypes.data
    v.xyz_stride = xyz.strides[0]
    keep = [xyz]
    for name, arr, dt, width in (("rgb", rgb, np.uint8, 3), ("normals", normals, np.float32, 3), ("intensity", intensity, np.float32, 1)):
        if arr is None:
            continue
        shape_ok = arr.shape == ((xyz.shape[0], width) if width > 1 else (xyz.shape[0],))
        if not isinstance(arr, np.ndarray) or arr.dtype != dt or not shape_ok:
            raise InvalidArgumentError(f"{name} must be a {'N×3' if width > 1 else 'N'} {np.dtype(dt)} array matching xyz")
        if width > 1 and arr.strides[1] != np.dtype(dt).itemsize:
            raise InvalidArgumentError(f"{name} rows must be contiguous")
        setattr(v, name, arr.ctypes.data)
        setattr(v, name + "_stride", arr.strides[0])
        keep.append(arr)
    return v, keep


class OwnedHandle:
    """Base of the objects that own one C handle: `close()` frees it exactly once (also on garbage
    collection), and every such object is a context manager. Subclasses name their free function."""

    _free = None  # name of the ov3d_*_free function
    _h = None

    def close(self):
        h = getattr(self, "_h", None)
        if h:
            getattr(lib(), self._free)(h)
            self._h = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
