"""Segmentation in one call (ov3d.h section "Segmentation"): a label and a score for every point,
optional probabilities over the vocabulary, and heat-maps for further queries without running the
network again.

    import numpy as np, ov3d
    model = ov3d.Model("openscene_lseg.safetensors")
    voc = ov3d.Vocabulary.from_embeddings(np.load("clip_scannet_labels_512.npy").astype(np.float32),
                                          names=[l.strip() for l in open("scannet20_labelset.txt")])
    res = ov3d.segment(xyz, model, voc)                 # xyz: N×3 float32 (N×6: the first 3 columns)
    res.labels, res.scores                             # int32 [N] (-1 = skipped NaN point), float32 [N]
    heat = res.query(my_embedding)                     # float32 [N] cosine similarity, milliseconds
    heat = res.query("fire extinguisher", encoder=enc) # a text, embedded by a TextEncoder

The same pipeline as `ov3d segment`, `ov3d_segment` and the C++ `Session::segment`.
"""
from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from ._lib import InvalidArgumentError, Points, as_array, check, lib, points_view, signature
from .model import Model, Session, _live
from .text import EncodeParams, TextEncoder, Vocabulary, _encode_params

__all__ = ["segment", "Result", "FUSED_MODES"]

_vp, _i32, _sz, _f = ctypes.c_void_p, ctypes.c_int32, ctypes.c_size_t, ctypes.c_float

#: How fused 2D features combine with the network's (an ov3d_eval_mode).
FUSED_MODES = {"fusion": 0, "distill": 1, "ensemble-max": 2, "ensemble-average": 3}


class SegmentParams(ctypes.Structure):
    """ctypes mirror of ov3d_segment_params."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("head", _i32), ("voxel_size", _f), ("temperature", _f),
                ("fused_features", ctypes.POINTER(_f)), ("fused_count", _sz), ("fused_mask", ctypes.POINTER(ctypes.c_uint8)),
                ("fused_mode", _i32), ("superpoints", ctypes.POINTER(_i32)), ("superpoints_count", _sz)]


class SegmentInfo(ctypes.Structure):
    """ctypes mirror of ov3d_segment_info."""

    _fields_ = [("struct_size", ctypes.c_uint32), ("voxel_size", _f), ("n_points", _sz), ("n_skipped", _sz),
                ("n_voxels", _sz), ("dim", _sz), ("voxelize_ms", ctypes.c_double), ("network_ms", ctypes.c_double),
                ("scoring_ms", ctypes.c_double), ("total_ms", ctypes.c_double), ("broadcast_ms", ctypes.c_double)]


_fp = ctypes.POINTER(_f)
signature("ov3d_segment_default_params", SegmentParams, [])
signature("ov3d_segment", _i32, [_vp, ctypes.POINTER(Points), _vp, ctypes.POINTER(SegmentParams),
                                 ctypes.POINTER(_i32), _sz, _fp, _sz, _fp, _sz, _fp, _sz, ctypes.POINTER(SegmentInfo)])
signature("ov3d_query", _i32, [_vp, _fp, _sz, _fp, _sz])
signature("ov3d_query_text", _i32, [_vp, _vp, ctypes.c_char_p, ctypes.POINTER(EncodeParams), _fp, _sz])


def _points(points: npt.ArrayLike, convert: bool) -> np.ndarray:
    """N×3 float32 rows with x y z contiguous (N×C arrays give their first three columns)."""
    if not isinstance(points, np.ndarray):
        raise InvalidArgumentError(f"points must be a numpy array, got {type(points).__name__}")
    if points.ndim != 2 or points.shape[1] < 3:
        raise InvalidArgumentError(f"points must have shape (N, 3) or (N, C >= 3) with x y z first, got {points.shape}")
    if points.dtype != np.float32:
        if not convert:
            raise InvalidArgumentError(
                f"points are {points.dtype}, ov3d takes float32: pass convert=True to convert them "
                f"(a float32 copy of {points.shape[0]}×3 values), or use points.astype(np.float32)")
        if not np.issubdtype(points.dtype, np.number):
            raise InvalidArgumentError(f"points of dtype {points.dtype} are not numbers")
        points = np.ascontiguousarray(points[:, :3], dtype=np.float32)
    xyz = points[:, :3]
    if xyz.strides[1] != 4:
        xyz = np.ascontiguousarray(xyz)
    return xyz


class Result:
    """The segmentation of one cloud. `labels` (int32 [N], index into `names`, -1 = skipped point),
    `scores` (float32 [N], cosine similarity of the label; NaN when skipped), `probabilities`
    (float32 [N, words] or None), `features` (float32 [N, dim] unit features or None), `info`
    (voxel size, voxels, skipped points, milliseconds per stage). `query()` answers heat-maps
    from the session's kept voxel features while the session has not segmented another cloud."""

    def __init__(self, session: Session, generation: int, names: List[str], labels: np.ndarray, scores: np.ndarray,
                 probabilities: Optional[np.ndarray], features: Optional[np.ndarray], info: Dict[str, float]):
        self._session = session
        self._generation = generation
        self.names = names
        self.labels = labels
        self.scores = scores
        self.probabilities = probabilities
        self.features = features
        self.info = info

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def counts(self) -> Dict[str, int]:
        """Points per word (skipped points not counted)."""
        c = np.bincount(self.labels[self.labels >= 0], minlength=len(self.names))
        return {n: int(c[i]) for i, n in enumerate(self.names)}

    def query(self, what: Union[str, npt.ArrayLike], encoder: Optional[TextEncoder] = None,
              template: Optional[str] = None) -> np.ndarray:
        """Cosine similarity of every point with an embedding (float32 [dim]) or with a text
        (needs `encoder`; `template` e.g. "a {} in a scene"). float32 [N], NaN for skipped points."""
        s = self._session
        if getattr(s, "_segment_generation", None) != self._generation:
            raise InvalidArgumentError("the session has segmented another cloud since this result: query the newer result, "
                                       "or use one session per cloud")
        out = np.empty(len(self), dtype=np.float32)
        if isinstance(what, str):
            if encoder is None:
                raise InvalidArgumentError("a text query needs encoder=TextEncoder(...) (or pass an embedding)")
            p = _encode_params(template)
            check(lib().ov3d_query_text(_live(s), _live(encoder), what.encode("utf-8"), ctypes.byref(p),
                                        out.ctypes.data_as(_fp), out.size))
            return out
        e = np.asarray(what)
        if e.ndim == 2 and e.shape[0] == 1:
            e = e[0]
        e = as_array(np.ascontiguousarray(e, dtype=np.float32) if e.dtype != np.float32 else np.ascontiguousarray(e),
                     np.float32, "embedding", ndim=1)
        check(lib().ov3d_query(_live(s), e.ctypes.data_as(_fp), e.size, out.ctypes.data_as(_fp), out.size))
        return out


def segment(points: npt.ArrayLike, model: Union[Model, str, Path], vocabulary: Union[Vocabulary, npt.ArrayLike], *,
            names: Optional[Sequence[str]] = None, session: Optional[Session] = None,
            voxel_size: Optional[float] = None, head: Union[int, str] = 0, probabilities: bool = False,
            features: bool = False, fused: Optional[npt.ArrayLike] = None, fused_mask: Optional[npt.ArrayLike] = None,
            fused_mode: str = "ensemble-max", superpoints: Optional[npt.ArrayLike] = None, temperature: float = 0.01,
            n_threads: int = 0, convert: bool = False) -> Result:
    """Labels every point of `points` (N×3 float32, or N×C with x y z first; rows with a NaN
    coordinate are skipped and get -1) with a word of `vocabulary` (a Vocabulary, or an array of
    embeddings [words, dim] with `names`). `model`: a Model or a checkpoint path. `session`: reuse
    one (per thread) across calls; by default a new one. `voxel_size` None = the checkpoint's
    recorded one, else the session's (0.02). `fused` (float32 [N, dim]) adds 2D features by
    `fused_mode` (see FUSED_MODES); `superpoints` (int32 [N]) votes labels per superpoint.
    float64 points raise InvalidArgumentError unless `convert=True`."""
    xyz = _points(points, convert)
    n = xyz.shape[0]
    if not isinstance(model, Model):
        model = Model(model)
    if not isinstance(vocabulary, Vocabulary):
        emb = np.asarray(vocabulary)
        if emb.dtype != np.float32:
            emb = emb.astype(np.float32)
        vocabulary = Vocabulary.from_embeddings(np.ascontiguousarray(emb), names=list(names) if names is not None else None)
    elif names is not None:
        raise InvalidArgumentError("names apply to an embeddings array, not to a Vocabulary (it has its own names)")
    if session is None:
        session = Session(model, n_threads=n_threads)
    words = vocabulary.names
    k, d = vocabulary.count, vocabulary.dim
    p = lib().ov3d_segment_default_params()
    p.head = head if isinstance(head, int) else model.head_names.index(head) if head in model.head_names else -1
    p.voxel_size = 0.0 if voxel_size is None else float(voxel_size)
    p.temperature = float(temperature)
    keep = []
    if fused is not None:
        f = as_array(fused, np.float32, "fused", ndim=2, shape_tail=(d,))
        p.fused_features = f.ctypes.data_as(_fp)
        p.fused_count = f.size
        if fused_mode not in FUSED_MODES:
            raise InvalidArgumentError(f"fused_mode must be one of {', '.join(FUSED_MODES)}, got {fused_mode!r}")
        p.fused_mode = FUSED_MODES[fused_mode]
        keep.append(f)
        if fused_mask is not None:
            m = as_array(fused_mask, np.uint8, "fused_mask", ndim=1)
            if m.size != n:
                raise InvalidArgumentError(f"fused_mask has {m.size} entries for {n} points")
            p.fused_mask = m.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
            keep.append(m)
    if superpoints is not None:
        sp = as_array(superpoints, np.int32, "superpoints", ndim=1)
        p.superpoints = sp.ctypes.data_as(ctypes.POINTER(_i32))
        p.superpoints_count = sp.size
        keep.append(sp)
    view, _keep = points_view(xyz)
    labels = np.empty(n, dtype=np.int32)
    scores = np.empty(n, dtype=np.float32)
    probs = np.empty((n, k), dtype=np.float32) if probabilities else None
    feats = np.empty((n, d), dtype=np.float32) if features else None
    info = SegmentInfo()
    info.struct_size = ctypes.sizeof(SegmentInfo)
    check(lib().ov3d_segment(_live(session), ctypes.byref(view), _live(vocabulary), ctypes.byref(p),
                             labels.ctypes.data_as(ctypes.POINTER(_i32)), n, scores.ctypes.data_as(_fp), n,
                             None if probs is None else probs.ctypes.data_as(_fp), 0 if probs is None else probs.size,
                             None if feats is None else feats.ctypes.data_as(_fp), 0 if feats is None else feats.size,
                             ctypes.byref(info)))
    session._segment_generation = getattr(session, "_segment_generation", 0) + 1
    meta = {"voxel_size": float(info.voxel_size), "points": int(info.n_points), "skipped": int(info.n_skipped),
            "voxels": int(info.n_voxels), "dim": int(info.dim), "voxelize_ms": info.voxelize_ms,
            "network_ms": info.network_ms, "scoring_ms": info.scoring_ms, "broadcast_ms": info.broadcast_ms,
            "total_ms": info.total_ms}
    return Result(session, session._segment_generation, words, labels, scores, probs, feats, meta)
