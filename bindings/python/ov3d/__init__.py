"""ov3d — open-vocabulary 3D scene understanding (Python bindings over libov3d.so via ctypes).

    import ov3d
    print(ov3d.version())
    ov3d.set_num_threads(2)

Errors raise a subclass of ov3d.Error, one per status code. Objects that own C handles are
context managers (and are also freed when garbage-collected).
"""
import ctypes as _ctypes

from ._lib import (ABI_VERSION, CancelledError, Error, FormatError, InternalError, InvalidArgumentError,
                   IOError_ as OV3DIOError, OutOfMemoryError, UnsupportedError, check as _check, lib as _load,
                   points_view, LOG_CALLBACK as _LOG_CALLBACK)

__all__ = ["Model", "Session", "Result", "segment", "SegmentationResult", "Vocabulary", "TextEncoder", "version", "abi_version", "set_num_threads", "get_num_threads", "set_log_callback", "points_view",
           "Error", "InvalidArgumentError", "OV3DIOError", "FormatError", "UnsupportedError", "OutOfMemoryError",
           "CancelledError", "InternalError"]


def version() -> str:
    """The library's version string."""
    return _load().ov3d_version().decode()


def abi_version() -> int:
    """The ABI version the loaded library implements."""
    return int(_load().ov3d_abi_version())


def set_num_threads(n):
    """Process-wide default thread count (0 = all cores); also sets OpenBLAS's."""
    _check(_load().ov3d_set_num_threads(int(n)))


def get_num_threads() -> int:
    """The resolved process-wide default thread count."""
    return int(_load().ov3d_get_num_threads())


_log_keepalive = None

LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_NONE = range(5)


def set_log_callback(fn, min_level=LOG_WARN):
    """Routes library log messages to fn(level, message); None restores stderr logging."""
    global _log_keepalive
    if fn is None:
        cb = _ctypes.cast(None, _LOG_CALLBACK)
    else:
        cb = _LOG_CALLBACK(lambda level, msg, user: fn(int(level), msg.decode("utf-8", "replace")))
    _check(_load().ov3d_set_log_callback(cb, None, int(min_level)))
    _log_keepalive = cb

# Subsystems (each a thin module over its section of ov3d.h).
from . import checkpoint, fusion, model, pointcloud, segmentation, text  # noqa: E402,F401
from .model import Model, Result, Session  # noqa: E402
from .segmentation import Result as SegmentationResult, segment  # noqa: E402
from .text import TextEncoder, Vocabulary  # noqa: E402
