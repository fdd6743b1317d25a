"""Helpers shared by the Python tests of MinkUNet inference (bindings/python/tests/test_model.py,
tests/cli/test_features_cli.py): fixture paths, comparison, a minimal safetensors reader/writer,
the OpenScene voxeliser (also used by tools/minkunet_common.py) and the reference's seeded
weight generator (Tests/Fixtures/minkunet/README.md, "Seeded weight generator"), so that the full-width cases whose 62 MB weights are not committed can be rebuilt
bit-exactly (checked against weights_digest.json) in a temporary folder. Needs only numpy.
"""
import json
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "Tests" / "Fixtures" / "minkunet"

_DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "F16": np.float16, "U8": np.uint8}
_NAME = {np.dtype(v): k for k, v in _DT.items()}


FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


def fnv1_hash_coords(c):
    """FNV-1 (multiply, then xor) over the x, y, z columns of non-negative integer coords."""
    c = np.asarray(c)
    h = np.full(c.shape[0], FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(3):
            h = h * FNV_PRIME
            h = np.bitwise_xor(h, c[:, j].astype(np.uint64))
    return h


def voxelize(points, voxel_size):
    """points: (N, 3) float32 or float64. Returns (coords int32 [Nv,3], inds int64 [Nv],
    inverse int64 [N]). Row order = ascending FNV-1 hash (np.unique), inds = first point of
    each voxel, coords == quantised(points)[inds], inverse maps every point to its voxel row."""
    p = np.asarray(points, dtype=np.float64)[:, :3]
    s = 1.0 / float(voxel_size)
    q = np.floor(p * s)
    q = np.floor(q - q.min(axis=0))
    h = fnv1_hash_coords(q)
    _, inds, inverse = np.unique(h, return_index=True, return_inverse=True)
    coords = q[inds].astype(np.int32)
    return coords, inds.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def rel_err(a, b):
    """max |a - b| / max |b| (over all rows and channels)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def label_mismatches(features, labels):
    """Rows whose argmax differs from `labels` (-1 = near tie in the reference: skipped)."""
    keep = labels >= 0
    return int((np.argmax(features, axis=1)[keep] != labels[keep]).sum())


def read_safetensors(path):
    """{name: numpy array} and the metadata dict of a safetensors file."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        out[k] = np.frombuffer(raw[base + b:base + e], dtype=_DT[v["dtype"]]).reshape(v["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: numpy array} (C order, little-endian) as safetensors."""
    header, off, blobs = {}, 0, []
    for k, a in tensors.items():
        a = np.array(a, order="C")            # (ascontiguousarray would turn 0-d into 1-d)
        data = a.tobytes()
        header[k] = {"dtype": _NAME[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    if metadata:
        header["__metadata__"] = dict(metadata)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


_M64 = (1 << 64) - 1


def seeded_values(key, n, amp, offset, seed=20261122):
    """The README's generator: float32 values of flat elements 0..n-1 of tensor `key`."""
    h = 14695981039346656037
    for byte in key.encode():
        h = ((h ^ byte) * 1099511628211) & _M64
    with np.errstate(over="ignore"):
        z = np.uint64(h ^ seed) + np.arange(n, dtype=np.uint64)
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    m = (z >> np.uint64(40)).astype(np.int64) - (1 << 23)
    scale = np.float32(np.float32(amp) / np.float32(1 << 23))
    return m.astype(np.float32) * scale + np.float32(offset)


def seeded_tensor(key, shape, seed=20261122):
    """The seeded value of one state-dict tensor (tools/minkunet_common.py:seeded_state_dict's
    rules, by key suffix): conv kernels Kaiming-uniform by fan-in, BN weight 1 +- 0.25, running_var
    1 +- 0.5, every other float (BN bias, running_mean, a head's `.bias`) 0 +- 0.1, and the int64
    `num_batches_tracked` 0."""
    shape = tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, dtype=np.int64)
    if key.endswith(".kernel"):
        vol = shape[0] if len(shape) == 3 else 1
        amp, off = float(np.float32(np.sqrt(6.0 / (vol * shape[-2])))), 0.0
    elif key.endswith(".bn.weight"):
        amp, off = 0.25, 1.0
    elif key.endswith(".bn.running_var"):
        amp, off = 0.5, 1.0
    else:
        amp, off = 0.1, 0.0
    return seeded_values(key, n, amp, off, seed).reshape(shape)


def seeded_state_dict(case):
    """The seeded weights of a fixture case (from its weights_digest.json), checked element by
    element at the digest's spot indices and by the float64 sum."""
    digest = json.loads((FIX / case / "weights_digest.json").read_text())
    sd = {}
    for key, d in digest.items():
        v = seeded_tensor(key, d["shape"])
        sd[key] = v
        if d["dtype"] == "I64":
            continue
        bits = v.reshape(-1).view(np.uint32)
        assert [int(bits[i]) for i in d["spot_index"]] == d["spot_bits"], f"seeded generator differs at {key}"
        assert abs(float(v.astype(np.float64).sum()) - d["sum_f64"]) <= 1e-9 * max(1.0, abs(d["sum_f64"])), key
    return sd
