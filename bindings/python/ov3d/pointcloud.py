"""Point clouds and superpoints (ov3d.h section "Point clouds").

    from ov3d.pointcloud import Cloud, superpoints, mean_pool, vote, broadcast
    with Cloud.load("scene.ply") as c:              # PCD / PLY (mesh) / npy / .bin
        ids, k = superpoints(c, method="mesh", k_thresh=0.01, seg_min_verts=20)
        c.set_labels(ids, colorize=True); c.save("segments.ply")
"""
import ctypes

import numpy as np

from ._lib import OwnedHandle, InvalidArgumentError, Points, as_array, check, lib, points_view, ptr, signature

_P = ctypes.c_void_p
_i32p, _f32p, _u8p = ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_uint8)


class LoadParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("drop_nan", ctypes.c_int32), ("bin_columns", ctypes.c_int32)]


class SuperpointParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("method", ctypes.c_int32), ("k_thresh", ctypes.c_float),
                ("seg_min_verts", ctypes.c_int32), ("graph_k", ctypes.c_int32), ("graph_voxel", ctypes.c_float),
                ("normal_k", ctypes.c_int32), ("voxel_resolution", ctypes.c_float), ("seed_resolution", ctypes.c_float),
                ("color_importance", ctypes.c_float), ("spatial_importance", ctypes.c_float),
                ("normal_importance", ctypes.c_float), ("use_single_camera_transform", ctypes.c_int32),
                ("rg_k", ctypes.c_int32), ("rg_min_cluster_size", ctypes.c_int32), ("rg_max_cluster_size", ctypes.c_int32),
                ("rg_smoothness_deg", ctypes.c_float), ("rg_curvature_threshold", ctypes.c_float)]


FORMATS = {"auto": 0, "pcd-ascii": 1, "pcd-binary": 2, "pcd-binary-compressed": 3, "ply-ascii": 4,
           "ply-binary-le": 5, "ply-binary-be": 6, "npy": 7, "bin": 8}
METHODS = {"mesh": 0, "graph": 1, "graph-voxel": 2, "vccs": 3, "region-growing": 4}

signature("ov3d_cloud_load_default_params", LoadParams, [])
signature("ov3d_cloud_load", ctypes.c_int32, [ctypes.c_char_p, ctypes.POINTER(LoadParams), ctypes.POINTER(_P)])
signature("ov3d_cloud_from_points", ctypes.c_int32, [ctypes.POINTER(Points), ctypes.POINTER(_P)])
signature("ov3d_cloud_save", ctypes.c_int32, [_P, ctypes.c_char_p, ctypes.c_int32])
signature("ov3d_cloud_free", None, [_P])
signature("ov3d_cloud_count", ctypes.c_int32, [_P, ctypes.POINTER(ctypes.c_size_t)])
signature("ov3d_cloud_organization", ctypes.c_int32, [_P, ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32)])
for _n, _t in (("positions", _f32p), ("colors", _u8p), ("normals", _f32p), ("intensity", _f32p), ("labels", _i32p)):
    signature(f"ov3d_cloud_{_n}", ctypes.c_int32, [_P, ctypes.POINTER(_t)])
signature("ov3d_cloud_faces", ctypes.c_int32, [_P, ctypes.POINTER(_i32p), ctypes.POINTER(ctypes.c_size_t)])
signature("ov3d_cloud_index_map", ctypes.c_int32, [_P, ctypes.POINTER(_i32p), ctypes.POINTER(ctypes.c_size_t)])
signature("ov3d_cloud_set_labels", ctypes.c_int32, [_P, _P, _P, ctypes.c_size_t, ctypes.c_int32])
signature("ov3d_superpoint_default_params", SuperpointParams, [])
signature("ov3d_superpoints_compute", ctypes.c_int32, [_P, ctypes.POINTER(SuperpointParams), _P, ctypes.c_size_t, _i32p])
signature("ov3d_superpoints_mean_pool", ctypes.c_int32, [_P, ctypes.c_size_t, ctypes.c_int32, _P, ctypes.c_size_t, _P, ctypes.c_size_t])
signature("ov3d_superpoints_vote", ctypes.c_int32, [_P, ctypes.c_size_t, ctypes.c_int32, _P, _P, ctypes.c_int32, _P, _P, ctypes.c_size_t])
signature("ov3d_superpoints_broadcast", ctypes.c_int32, [_P, ctypes.c_size_t, ctypes.c_int32, _P, ctypes.c_size_t, ctypes.c_float, _P, ctypes.c_size_t])
signature("ov3d_superpoints_broadcast_labels", ctypes.c_int32, [_P, ctypes.c_size_t, ctypes.c_int32, _P, ctypes.c_int32, _P, ctypes.c_size_t])


class Cloud(OwnedHandle):
    """An ov3d_cloud: a point cloud or mesh owned by the library. Not thread-safe."""

    _free = "ov3d_cloud_free"

    def __init__(self, handle):
        self._h = handle

    @classmethod
    def load(cls, path, drop_nan=False, bin_columns=0):
        p = lib().ov3d_cloud_load_default_params()
        p.drop_nan = int(bool(drop_nan))
        p.bin_columns = int(bin_columns)
        h = _P()
        check(lib().ov3d_cloud_load(str(path).encode(), ctypes.byref(p), ctypes.byref(h)))
        return cls(h)

    @classmethod
    def from_arrays(cls, xyz, rgb=None, normals=None, intensity=None):
        v, keep = points_view(xyz, rgb, normals, intensity)
        h = _P()
        check(lib().ov3d_cloud_from_points(ctypes.byref(v), ctypes.byref(h)))
        del keep
        return cls(h)

    def __len__(self):
        n = ctypes.c_size_t()
        check(lib().ov3d_cloud_count(self._h, ctypes.byref(n)))
        return n.value

    def _attr(self, name, ctype, dtype, width):
        p = ctypes.POINTER(ctype)()
        check(getattr(lib(), f"ov3d_cloud_{name}")(self._h, ctypes.byref(p)))
        if not p:
            return None
        n = len(self)
        a = np.ctypeslib.as_array(p, shape=(n * width,)).astype(dtype, copy=True)
        return a.reshape(n, width) if width > 1 else a

    @property
    def positions(self):
        return self._attr("positions", ctypes.c_float, np.float32, 3)

    @property
    def colors(self):
        return self._attr("colors", ctypes.c_uint8, np.uint8, 3)

    @property
    def normals(self):
        return self._attr("normals", ctypes.c_float, np.float32, 3)

    @property
    def intensity(self):
        return self._attr("intensity", ctypes.c_float, np.float32, 1)

    @property
    def labels(self):
        return self._attr("labels", ctypes.c_int32, np.int32, 1)

    @property
    def faces(self):
        p, n = _i32p(), ctypes.c_size_t()
        check(lib().ov3d_cloud_faces(self._h, ctypes.byref(p), ctypes.byref(n)))
        return np.ctypeslib.as_array(p, shape=(n.value, 3)).copy() if p else np.zeros((0, 3), np.int32)

    @property
    def index_map(self):
        p, n = _i32p(), ctypes.c_size_t()
        check(lib().ov3d_cloud_index_map(self._h, ctypes.byref(p), ctypes.byref(n)))
        return np.ctypeslib.as_array(p, shape=(n.value,)).copy() if p else None

    def set_labels(self, labels, scores=None, colorize=True):
        labels = as_array(labels, np.int32, "labels", ndim=1)
        if scores is not None:
            scores = as_array(scores, np.float32, "scores", ndim=1)
        check(lib().ov3d_cloud_set_labels(self._h, ptr(labels), ptr(scores), len(labels), int(bool(colorize))))

    def save(self, path, format="auto"):
        if format not in FORMATS:
            raise InvalidArgumentError(f"format must be one of {sorted(FORMATS)}")
        check(lib().ov3d_cloud_save(self._h, str(path).encode(), FORMATS[format]))


def superpoints(cloud, method="mesh", **params):
    """Segment id per point (int32, -1 = unassigned) and the segment count. `params` are the
    fields of ov3d_superpoint_params (k_thresh, seg_min_verts, graph_k, graph_voxel, normal_k,
    voxel_resolution, seed_resolution, ..., rg_smoothness_deg, rg_curvature_threshold)."""
    if method not in METHODS:
        raise InvalidArgumentError(f"method must be one of {sorted(METHODS)}")
    p = lib().ov3d_superpoint_default_params()
    p.method = METHODS[method]
    for k, v in params.items():
        if k not in dict(SuperpointParams._fields_) or k in ("struct_size", "method"):
            raise InvalidArgumentError(f"unknown superpoint parameter {k}")
        setattr(p, k, v)
    ids = np.empty(len(cloud), np.int32)
    k = ctypes.c_int32()
    check(lib().ov3d_superpoints_compute(cloud._h, ctypes.byref(p), ptr(ids), len(ids), ctypes.byref(k)))
    return ids, k.value


def mean_pool(ids, n_segments, features):
    ids = as_array(ids, np.int32, "ids", ndim=1)
    features = as_array(features, np.float32, "features", ndim=2)
    out = np.empty((n_segments, features.shape[1]), np.float32)
    check(lib().ov3d_superpoints_mean_pool(ptr(ids), len(ids), n_segments, ptr(features), features.shape[1], ptr(out), out.size))
    return out


def vote(ids, n_segments, labels, scores=None, mode="majority"):
    ids = as_array(ids, np.int32, "ids", ndim=1)
    labels = as_array(labels, np.int32, "labels", ndim=1)
    if scores is not None:
        scores = as_array(scores, np.float32, "scores", ndim=1)
    out_l = np.empty(n_segments, np.int32)
    out_s = np.empty(n_segments, np.float32)
    check(lib().ov3d_superpoints_vote(ptr(ids), len(ids), n_segments, ptr(labels), ptr(scores),
                                      {"majority": 0, "mean-score": 1}[mode], ptr(out_l), ptr(out_s), n_segments))
    return out_l, out_s


def broadcast(ids, n_segments, values, fill=0):
    ids = as_array(ids, np.int32, "ids", ndim=1)
    if values.dtype == np.int32:
        values = as_array(values, np.int32, "values", ndim=1)
        out = np.empty(len(ids), np.int32)
        check(lib().ov3d_superpoints_broadcast_labels(ptr(ids), len(ids), n_segments, ptr(values), int(fill), ptr(out), out.size))
        return out
    values = as_array(values, np.float32, "values", ndim=2)
    out = np.empty((len(ids), values.shape[1]), np.float32)
    check(lib().ov3d_superpoints_broadcast(ptr(ids), len(ids), n_segments, ptr(values), values.shape[1], float(fill), ptr(out), out.size))
    return out
