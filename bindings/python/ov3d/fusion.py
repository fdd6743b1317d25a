"""Multi-view 2D->3D fusion (OpenScene), multi-teacher agglomeration (SAS) and metrics.

    from ov3d import fusion
    s = fusion.FusionSession(points_xyz, feature_dim=512, feature_size=(320, 240))
    for depth, feat, K, pose in frames:          # uint16 HxW, H'xW'xC f32/f16, 3x3, 4x4 cam->world
        s.add_frame(depth, feat, K, pose)
    feats, mask, counts = s.snapshot()
    m = fusion.evaluate(pred, gt, num_classes=20)   # dict: miou, macc, iou, acc (None = undefined)
"""
import ctypes

import numpy as np

from ._lib import OwnedHandle, PROGRESS_CALLBACK, InvalidArgumentError, as_array, check, lib, points_view, signature

_vp, _sz, _i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32


class FusionParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("depth_width", _i32), ("depth_height", _i32),
                ("feature_width", _i32), ("feature_height", _i32), ("feature_dim", _i32),
                ("cut_bound", _i32), ("n_threads", _i32),
                ("visibility_threshold", ctypes.c_double), ("depth_scale", ctypes.c_double)]


class TeacherFusionParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("method", _i32), ("temperature", ctypes.c_float),
                ("keep_class", _i32), ("n_threads", _i32)]


class EvalResult(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_classes", _i32), ("n_present_classes", _i32),
                ("reserved", _i32), ("n_evaluated_points", ctypes.c_int64), ("miou", ctypes.c_double),
                ("macc", ctypes.c_double), ("overall_accuracy", ctypes.c_double)]


signature("ov3d_fusion_default_params", FusionParams, [])
signature("ov3d_fusion_create", _i32, [_vp, ctypes.POINTER(FusionParams), ctypes.POINTER(_vp)])
signature("ov3d_fusion_add_frame", _i32, [_vp, _vp, _sz, _vp, _sz, _i32, _vp, _vp, ctypes.POINTER(_sz)])
signature("ov3d_fusion_add_manifest", _i32, [_vp, ctypes.c_char_p, PROGRESS_CALLBACK, _vp])
signature("ov3d_fusion_snapshot", _i32, [_vp, _vp, _sz, _vp, _sz, _vp, _sz])
signature("ov3d_fusion_info", _i32, [_vp, ctypes.POINTER(_sz), ctypes.POINTER(_i32), ctypes.POINTER(_i32)])
signature("ov3d_fusion_reset", _i32, [_vp])
signature("ov3d_fusion_free", None, [_vp])
signature("ov3d_teacher_fusion_default_params", TeacherFusionParams, [])
signature("ov3d_teacher_fusion", _i32, [_vp, _sz, _sz, _sz, _vp, _sz, _vp, ctypes.POINTER(TeacherFusionParams), _vp, _sz, _vp, _sz])
signature("ov3d_capability_from_masks", _i32, [_vp, _vp, _sz, _vp, _vp, _sz, _sz, _sz, _i32, _vp, _sz])
signature("ov3d_ensemble_labels", _i32, [_i32, _vp, _vp, _vp, _sz, _sz, _vp, _sz, _vp, _sz])
signature("ov3d_superpoints_refine_labels", _i32, [_vp, _vp, _sz, _i32])
signature("ov3d_evaluate", _i32, [_vp, _vp, _sz, _i32, _i32, _i32, ctypes.POINTER(EvalResult), _vp, _vp, _sz])

METHODS = {"capability": 0, "mean": 1, "max_similarity": 2, "linear": 2}
MODES = {"fusion": 0, "distill": 1, "ensemble_max": 2, "ensemble_average": 3}


class FusionSession(OwnedHandle):
    """Online OpenScene fusion: add frames as they arrive, snapshot at any time (memory = running sums)."""

    _free = "ov3d_fusion_free"

    def __init__(self, xyz, feature_dim, depth_size=(640, 480), feature_size=None, visibility_threshold=0.25,
                 cut_bound=10, depth_scale=1000.0, n_threads=0):
        p = lib().ov3d_fusion_default_params()
        p.depth_width, p.depth_height = depth_size
        p.feature_width, p.feature_height = feature_size or depth_size
        p.feature_dim, p.cut_bound, p.n_threads = int(feature_dim), int(cut_bound), int(n_threads)
        p.visibility_threshold, p.depth_scale = float(visibility_threshold), float(depth_scale)
        self._params = p
        v, _keep = points_view(xyz)
        self._h = _vp()
        check(lib().ov3d_fusion_create(ctypes.byref(v), ctypes.byref(p), ctypes.byref(self._h)))
        self.n_points, self.feature_dim = xyz.shape[0], int(feature_dim)

    def add_frame(self, depth, features, intrinsics, pose):
        """depth: HxW uint16; features: H'xW'xC float32 or float16; intrinsics 3x3; pose 4x4
        camera-to-world. Returns how many points this frame saw."""
        p = self._params
        depth = as_array(depth, np.uint16, "depth", shape_tail=(p.depth_height, p.depth_width))
        if not isinstance(features, np.ndarray) or features.dtype not in (np.float32, np.float16):
            raise InvalidArgumentError("features must be a float32 or float16 numpy array")
        features = as_array(features, features.dtype, "features", ndim=3)
        k = np.ascontiguousarray(intrinsics, dtype=np.float64).reshape(9)
        t = np.ascontiguousarray(pose, dtype=np.float64).reshape(16)
        seen = _sz()
        check(lib().ov3d_fusion_add_frame(self._h, depth.ctypes.data, depth.size, features.ctypes.data, features.size,
                                          1 if features.dtype == np.float16 else 0, k.ctypes.data, t.ctypes.data,
                                          ctypes.byref(seen)))
        return seen.value

    def add_manifest(self, path):
        check(lib().ov3d_fusion_add_manifest(self._h, str(path).encode(), PROGRESS_CALLBACK(), None))

    def snapshot(self):
        """(features N×C float32, mask N uint8, counts N uint32)."""
        f = np.zeros((self.n_points, self.feature_dim), np.float32)
        m = np.zeros(self.n_points, np.uint8)
        c = np.zeros(self.n_points, np.uint32)
        check(lib().ov3d_fusion_snapshot(self._h, f.ctypes.data, f.size, m.ctypes.data, m.size, c.ctypes.data, c.size))
        return f, m, c

    def reset(self):
        check(lib().ov3d_fusion_reset(self._h))


def teacher_fusion(teachers, vocabulary, capabilities=None, method="capability", temperature=0.05, keep_class=-1,
                   return_weights=False):
    """teachers: T×N×D float32; vocabulary K×D; capabilities T×K (for "capability")."""
    f = as_array(teachers, np.float32, "teachers", ndim=3)
    v = as_array(vocabulary, np.float32, "vocabulary", ndim=2)
    cap = None if capabilities is None else as_array(capabilities, np.float32, "capabilities", ndim=2)
    t, n, d = f.shape
    p = lib().ov3d_teacher_fusion_default_params()
    p.method, p.temperature, p.keep_class = METHODS[method], float(temperature), int(keep_class)
    out = np.zeros((n, d), np.float32)
    w = np.zeros((n, t), np.float32)
    check(lib().ov3d_teacher_fusion(f.ctypes.data, t, n, d, v.ctypes.data, v.shape[0],
                                    None if cap is None else cap.ctypes.data, ctypes.byref(p),
                                    out.ctypes.data, out.size, w.ctypes.data, w.size))
    return (out, w) if return_weights else out


def ensemble_labels(mode, vocabulary, features_3d=None, features_2d=None, mask_2d=None):
    """Labels for mode in fusion / distill / ensemble_max (OpenScene) / ensemble_average (CUA-O3D)."""
    v = as_array(vocabulary, np.float32, "vocabulary", ndim=2)
    a = None if features_3d is None else as_array(features_3d, np.float32, "features_3d", ndim=2)
    b = None if features_2d is None else as_array(features_2d, np.float32, "features_2d", ndim=2)
    m = None if mask_2d is None else as_array(mask_2d, np.uint8, "mask_2d", ndim=1)
    n = (a if a is not None else b).shape[0]
    out = np.zeros(n, np.int32)
    check(lib().ov3d_ensemble_labels(MODES[mode], None if a is None else a.ctypes.data, None if b is None else b.ctypes.data,
                                     None if m is None else m.ctypes.data, n, v.shape[1], v.ctypes.data, v.shape[0],
                                     out.ctypes.data, n))
    return out


def superpoint_refine(labels, segments, abstain=256):
    out = np.array(as_array(labels, np.int32, "labels", ndim=1))
    s = as_array(segments, np.int32, "segments", ndim=1)
    check(lib().ov3d_superpoints_refine_labels(out.ctypes.data, s.ctypes.data, out.size, int(abstain)))
    return out


def evaluate(pred, gt, num_classes, ignore=255, openscene=False):
    """Dict with miou, macc, overall_accuracy, n_present_classes, evaluated_points and per-class
    iou / acc lists (None where undefined)."""
    p = as_array(pred, np.int32, "pred", ndim=1)
    g = as_array(gt, np.int32, "gt", ndim=1)
    r = EvalResult()
    r.struct_size = ctypes.sizeof(EvalResult)
    iou = np.zeros(num_classes, np.float64)
    acc = np.zeros(num_classes, np.float64)
    check(lib().ov3d_evaluate(p.ctypes.data, g.ctypes.data, p.size, int(num_classes), int(ignore), 1 if openscene else 0,
                              ctypes.byref(r), iou.ctypes.data, acc.ctypes.data, num_classes))
    und = lambda a: [None if x < 0 else float(x) for x in a]
    return {"miou": r.miou, "macc": r.macc, "overall_accuracy": r.overall_accuracy,
            "n_present_classes": r.n_present_classes, "evaluated_points": r.n_evaluated_points,
            "iou": und(iou), "acc": und(acc)}
