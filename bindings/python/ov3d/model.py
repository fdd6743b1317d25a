"""MinkUNet inference (issue 3): an immutable Model, a per-thread Session, the Result of one run.

    from ov3d.model import Model
    with Model("openscene_lseg.safetensors") as m, m.session(voxel_size=0.02) as s:
        with s.run(xyz) as r:                       # xyz: N×3 float32
            feats = r.features()                    # N×512 float32 (a copy), raw network output
            unit = r.features(normalized=True)      # L2-normalised rows
        with s.run_voxels(coords, features) as r:   # coords: N×3 int32 unique; features N×3 float32 or None
            vf = r.features("final")

Arrays are checked, never silently converted: wrong dtype, shape or non-contiguous memory raise
ov3d.InvalidArgumentError (convert with .astype / np.ascontiguousarray). Arrays returned by a
Result are copies, valid after it is closed.
"""
import ctypes

import numpy as np

from ._lib import (PROGRESS_CALLBACK, InvalidArgumentError, OwnedHandle, as_array, check, lib, points_view,
                   signature)

__all__ = ["Model", "Session", "Result"]

_vp, _i32, _sz = ctypes.c_void_p, ctypes.c_int32, ctypes.c_size_t


class ModelParams(ctypes.Structure):
    """ctypes mirror of ov3d_model_params."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", _i32)]


class SessionParams(ctypes.Structure):
    """ctypes mirror of ov3d_session_params."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", _i32), ("voxel_size", ctypes.c_float),
                ("progress", PROGRESS_CALLBACK), ("progress_user_data", _vp), ("max_memory_bytes", ctypes.c_uint64)]


class RunParams(ctypes.Structure):
    """ctypes mirror of ov3d_run_params."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("head", _i32), ("voxel_size", ctypes.c_float),
                ("augment", _i32), ("seed", ctypes.c_uint64)]


_cstr = ctypes.POINTER(ctypes.c_char_p)
_fptr = ctypes.POINTER(ctypes.POINTER(ctypes.c_float))
_iptr = ctypes.POINTER(ctypes.POINTER(ctypes.c_int32))
signature("ov3d_model_default_params", ModelParams, [])
signature("ov3d_model_load", _i32, [ctypes.c_char_p, ctypes.POINTER(ModelParams), ctypes.POINTER(_vp)])
signature("ov3d_model_free", None, [_vp])
signature("ov3d_model_head_count", _i32, [_vp, ctypes.POINTER(_i32)])
signature("ov3d_model_head_dim", _i32, [_vp, _i32, ctypes.POINTER(_i32)])
signature("ov3d_model_head_name", _i32, [_vp, _i32, _cstr])
signature("ov3d_model_variant", _i32, [_vp, _cstr])
signature("ov3d_model_in_channels", _i32, [_vp, ctypes.POINTER(_i32)])
signature("ov3d_session_default_params", SessionParams, [])
signature("ov3d_session_create", _i32, [_vp, ctypes.POINTER(SessionParams), ctypes.POINTER(_vp)])
signature("ov3d_session_free", None, [_vp])
signature("ov3d_run_default_params", RunParams, [])
signature("ov3d_session_run", _i32, [_vp, _vp, ctypes.POINTER(RunParams), ctypes.POINTER(_vp)])
signature("ov3d_session_run_voxels", _i32,
          [_vp, ctypes.POINTER(_i32), _sz, ctypes.POINTER(ctypes.c_float), _sz, ctypes.POINTER(RunParams),
           ctypes.POINTER(_vp)])
signature("ov3d_result_free", None, [_vp])
signature("ov3d_result_point_count", _i32, [_vp, ctypes.POINTER(_sz)])
signature("ov3d_result_voxel_count", _i32, [_vp, ctypes.POINTER(_sz)])
signature("ov3d_result_feature_dim", _i32, [_vp, _i32, ctypes.POINTER(_i32)])
signature("ov3d_result_features", _i32, [_vp, _i32, _i32, _fptr])
signature("ov3d_result_voxel_features", _i32, [_vp, _i32, _i32, _fptr])
signature("ov3d_result_voxel_index", _i32, [_vp, _iptr])
signature("ov3d_result_voxel_coords", _i32, [_vp, _iptr])


def _live(obj):
    """The object's C handle, or a clear error once it has been closed."""
    if not obj._h:
        raise InvalidArgumentError(f"{type(obj).__name__} is closed")
    return obj._h


def _head_index(names, head):
    """Head by index (int) or name (str) -> index."""
    if isinstance(head, str):
        if head not in names:
            raise InvalidArgumentError(f"no head '{head}'; the model has {', '.join(names)}")
        return names.index(head)
    if isinstance(head, (bool, np.bool_)) or not isinstance(head, (int, np.integer)):
        raise InvalidArgumentError(f"head must be an int or a head name, got {type(head).__name__}")
    return int(head)


class Model(OwnedHandle):
    """An immutable MinkUNet loaded from a checkpoint (torch .pth / .pth.tar or safetensors). The
    architecture (MinkUNet14A..34C, any widths) and heads are read from its keys and shapes.
    Safe to share between threads; sessions keep it alive."""

    _free = "ov3d_model_free"

    def __init__(self, path, n_threads=0):
        p = lib().ov3d_model_default_params()
        p.n_threads = int(n_threads)
        h = _vp()
        check(lib().ov3d_model_load(str(path).encode(), ctypes.byref(p), ctypes.byref(h)))
        self._h = h

    @property
    def head_count(self):
        n = _i32()
        check(lib().ov3d_model_head_count(_live(self), ctypes.byref(n)))
        return n.value

    def head_dim(self, head=0):
        d = _i32()
        check(lib().ov3d_model_head_dim(_live(self), _head_index(self.head_names, head), ctypes.byref(d)))
        return d.value

    def head_name(self, index):
        s = ctypes.c_char_p()
        check(lib().ov3d_model_head_name(_live(self), int(index), ctypes.byref(s)))
        return s.value.decode()

    @property
    def head_names(self):
        """["final"] (OpenScene, SAS) or ["final", "final_dinov2", "final_sd"] (CUA-O3D)."""
        return [self.head_name(i) for i in range(self.head_count)]

    @property
    def heads(self):
        """{name: dim} in head order."""
        return {n: self.head_dim(i) for i, n in enumerate(self.head_names)}

    @property
    def variant(self):
        """"MinkUNet18A", ..., or "MinkUNet(custom)" for other widths."""
        s = ctypes.c_char_p()
        check(lib().ov3d_model_variant(_live(self), ctypes.byref(s)))
        return s.value.decode()

    @property
    def in_channels(self):
        c = _i32()
        check(lib().ov3d_model_in_channels(_live(self), ctypes.byref(c)))
        return c.value

    def session(self, voxel_size=0.02, n_threads=0, progress=None):
        """A new Session on this model (see Session)."""
        return Session(self, voxel_size=voxel_size, n_threads=n_threads, progress=progress)


class Session(OwnedHandle):
    """A per-thread inference workspace on one model (work buffers reused across runs). Not
    thread-safe: use one per thread. `progress(fraction, stage) -> bool` (True cancels: the run
    raises ov3d.CancelledError; an exception inside it also cancels)."""

    _free = "ov3d_session_free"

    def __init__(self, model, voxel_size=0.02, n_threads=0, progress=None, max_memory_bytes=0):
        if not isinstance(model, Model):
            raise InvalidArgumentError(f"model must be an ov3d.model.Model, got {type(model).__name__}")
        p = lib().ov3d_session_default_params()
        p.voxel_size = float(voxel_size)
        p.n_threads = int(n_threads)
        p.max_memory_bytes = int(max_memory_bytes)
        self._progress = None
        if progress is not None:
            def cb(fraction, stage, _user):
                try:
                    return 1 if progress(float(fraction), (stage or b"").decode("utf-8", "replace")) else 0
                except Exception:  # an exception must not unwind through C: cancel instead
                    return 1
            self._progress = PROGRESS_CALLBACK(cb)
            p.progress = self._progress
        h = _vp()
        check(lib().ov3d_session_create(_live(model), ctypes.byref(p), ctypes.byref(h)))
        self._h = h
        self._names = model.head_names
        self.in_channels = model.in_channels

    def _run_params(self, head, voxel_size=None, augment=False, seed=0):
        rp = lib().ov3d_run_default_params()
        rp.head = -1 if head is None else _head_index(self._names, head)
        if voxel_size is not None:
            rp.voxel_size = float(voxel_size)
        rp.augment = 1 if augment else 0
        rp.seed = int(seed)
        return rp

    def run(self, xyz, head=None, voxel_size=None, augment=False, seed=0):
        """Voxelises `xyz` (N×3 float32; rows may be strided, each row's x y z contiguous) as
        OpenScene does and runs the network with ones as input. `head` (index or name; None = all)
        selects what to compute; `voxel_size` overrides the session's for this run."""
        h = _live(self)
        v, _keep = points_view(xyz)
        rp = self._run_params(head, voxel_size, augment, seed)
        r = _vp()
        check(lib().ov3d_session_run(h, ctypes.byref(v), ctypes.byref(rp), ctypes.byref(r)))
        return Result(r, self._names)

    def run_voxels(self, coords, features=None, head=None):
        """Runs on unique int32 voxel coordinates (N×3 x y z, C-contiguous, |c| < 2^20) with
        `features` (N×in_channels float32, C-contiguous; None = ones). Result rows follow the
        input rows."""
        h = _live(self)
        coords = as_array(coords, np.int32, "coords", ndim=2)
        if coords.shape[1] != 3:
            raise InvalidArgumentError(f"coords must have shape (N, 3), got {coords.shape}")
        channels = 0
        if features is not None:
            features = as_array(features, np.float32, "features", ndim=2)
            if features.shape != (coords.shape[0], self.in_channels):
                raise InvalidArgumentError(
                    f"features must have shape ({coords.shape[0]}, {self.in_channels}), got {features.shape}")
            channels = features.shape[1]
        rp = self._run_params(head)
        r = _vp()
        fp = None if features is None else features.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        check(lib().ov3d_session_run_voxels(h, coords.ctypes.data_as(ctypes.POINTER(_i32)), coords.shape[0], fp,
                                            channels, ctypes.byref(rp), ctypes.byref(r)))
        return Result(r, self._names)


class Result(OwnedHandle):
    """The output of one run. Accessors return numpy copies (valid after close). Not thread-safe."""

    _free = "ov3d_result_free"

    def __init__(self, handle, head_names):
        self._h = handle
        self._names = list(head_names)

    def _count(self, fn):
        n = _sz()
        check(fn(_live(self), ctypes.byref(n)))
        return n.value

    @property
    def point_count(self):
        """Input points (rows of features()); for voxel runs, the input rows."""
        return self._count(lib().ov3d_result_point_count)

    @property
    def voxel_count(self):
        """Occupied voxels (rows of voxel_features())."""
        return self._count(lib().ov3d_result_voxel_count)

    def feature_dim(self, head=0):
        d = _i32()
        check(lib().ov3d_result_feature_dim(_live(self), _head_index(self._names, head), ctypes.byref(d)))
        return d.value

    def _features(self, fn, rows, head, normalized):
        i = _head_index(self._names, head)
        h = _live(self)
        d = self.feature_dim(i)
        p = ctypes.POINTER(ctypes.c_float)()
        check(fn(h, i, 1 if normalized else 0, ctypes.byref(p)))
        return np.ctypeslib.as_array(p, shape=(rows, d)).copy()

    def features(self, head=0, normalized=False):
        """point_count × dim float32 per-point features of `head` (index or name), raw or
        L2-normalised per row."""
        return self._features(lib().ov3d_result_features, self.point_count, head, normalized)

    def voxel_features(self, head=0, normalized=False):
        """voxel_count × dim float32 per-voxel features of `head`."""
        return self._features(lib().ov3d_result_voxel_features, self.voxel_count, head, normalized)

    def voxel_index(self):
        """The voxel row of every point (point_count int32)."""
        n = self.point_count
        p = ctypes.POINTER(_i32)()
        check(lib().ov3d_result_voxel_index(_live(self), ctypes.byref(p)))
        return np.ctypeslib.as_array(p, shape=(n,)).copy()

    def voxel_coords(self):
        """voxel_count × 3 int32 voxel coordinates (x y z; shifted to min 0 for point runs)."""
        n = self.voxel_count
        p = ctypes.POINTER(_i32)()
        check(lib().ov3d_result_voxel_coords(_live(self), ctypes.byref(p)))
        return np.ctypeslib.as_array(p, shape=(n, 3)).copy()
