#!/usr/bin/env python3
"""A corpus of hostile input files for every format ov3d reads (issue 17).

Each file is crafted the way a hostile sender would: sizes the file does not hold, counts and
shapes whose products overflow, offsets that overlap or leave the file, zip bombs, deep nesting,
views that do not fit their storage, pickles that try to run code (they would create a marker
file), huge declared image sizes, and valid clouds of degenerate geometry (one point, identical,
colinear or planar points, offsets of 1e25-1e30, NaN/Inf rows) as npy, PLY and PCD. tests/cli/test_hostile.py runs every `ov3d` command that
reads each format on every file: each run must end with an exit status (never a signal), within
a time and memory bound, with a message naming the file, and leave no output behind.

Needs only the Python standard library and NumPy (CI runs it; no torch). Run:
    python3 tools/hostile_files.py OUT_DIR        # writes OUT_DIR/<format>/<case>.<ext> + cases.json
    python3 tools/hostile_files.py --seeds Tests/Fixtures/hostile/seeds   # the committed fuzz seed corpora
Every case is deterministic (no randomness), so a failure names a reproducible file.
"""
import gzip
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

MARKER = "/tmp/ov3d_hostile_pwned"

# --------------------------------------------------------------------------------------------
# npy


def npy_bytes(header, data=b"", version=1, header_len=None):
    h = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (-(pre + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    n = len(h) if header_len is None else header_len
    if version == 1:
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", n & 0xFFFF)
    else:
        head = b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", n & 0xFFFFFFFF)
    return head + h + data


def npy_cases():
    pts = np.random.RandomState(0).rand(50, 3).astype("<f4")
    good = pts.tobytes()
    c = {
        "bad_magic": b"\x93NUMPX\x01\x00" + b"\x10\x00" + b"{}" * 8,
        "empty": b"",
        "short": b"\x93NUMPY\x01",
        "version9": b"\x93NUMPY\x09\x00\x10\x00" + b" " * 16,
        "header_len_past_file": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (50, 3), }", good, header_len=60000),
        "header_len_4g": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (50, 3), }", good, version=2, header_len=0xFFFFFFFF),
        "object_dtype": npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                                  b"\x80\x02cposix\nsystem\nq\x00X\x1d\x00\x00\x00touch " + MARKER.encode()[:18] + b"q\x01\x85q\x02Rq\x03."),
        "complex_dtype": npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", b"\0" * 32),
        "rows0_cols1e9": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000000), }"),
        "cols0_rows1e9": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 0), }"),
        "shape_overflow": npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", good),
        "shape_2p40": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 3), }", good),
        "dim_20_digits": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3), }", good),
        "negative_dim": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-50, 3), }", good),
        "rank40": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 40 + "), }", good),
        "data_truncated": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5000, 3), }", good),
        "fortran_3d_truncated": npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (50, 3, 1000), }", good),
        "unterminated_string": npy_bytes("{'descr': '<f4, 'fortran_order': False, 'shape': (50, 3), }", good),
        "unknown_key": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (50, 3), 'x': 1}", good),
        "no_shape": npy_bytes("{'descr': '<f4', 'fortran_order': False, }", good),
        "header_garbage": npy_bytes("\x00\xff" * 30, good),
        "one_column": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (150,), }", good),
        "nan_points": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (50, 3), }",
                                np.full((50, 3), np.nan, "<f4").tobytes()),
        "huge_coords": npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (50, 3), }", (pts * 3e38).tobytes()),
        "big_endian_f8": npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (50, 3), }", pts.astype(">f8").tobytes()),
        "bool_points": npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (50, 3), }", bytes(150)),
        "int64_huge_labels": npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (50, 3), }",
                                       np.full((50, 3), 2 ** 62, "<i8").tobytes()),
    }
    return c


# --------------------------------------------------------------------------------------------
# point clouds: PCD, PLY


def pcd_header(fields="x y z", size="4 4 4", type_="F F F", count="1 1 1", width="10", height="1", points=None, data="ascii"):
    h = f"# .PCD v0.7\nVERSION 0.7\nFIELDS {fields}\nSIZE {size}\nTYPE {type_}\nCOUNT {count}\nWIDTH {width}\nHEIGHT {height}\nVIEWPOINT 0 0 0 1 0 0 0\n"
    h += f"POINTS {points if points is not None else width}\nDATA {data}\n"
    return h.encode()


def pcd_cases():
    pts = np.random.RandomState(1).rand(10, 3).astype("<f4")
    asc = "".join(f"{a} {b} {c}\n" for a, b, c in pts).encode()
    soa = pts.T.copy().tobytes()
    lzf = b"\x1f" + soa[:32]  # one literal run of 32 bytes (valid LZF, too short for the points)
    return {
        "points_vs_width_height": pcd_header(width="10", height="1", points="1000000") + asc,
        "width_height_overflow": pcd_header(width="4294967296", height="4294967296", points="1") + asc,
        "negative_width": pcd_header(width="-10") + asc,
        "compressed_2p28": pcd_header(width=str(1 << 28), data="binary_compressed") + struct.pack("<II", 33, 1 << 30) + lzf,
        "compressed_sizes_lie": pcd_header(data="binary_compressed") + struct.pack("<II", 0xFFFFFFF0, 120) + lzf,
        "compressed_backref_out": pcd_header(data="binary_compressed") + struct.pack("<II", 4, 120) + b"\xe0\xff\xff\x00",
        "compressed_truncated": pcd_header(data="binary_compressed") + struct.pack("<II", 33, 120) + lzf[:5],
        "fields_size_disagree": pcd_header(size="4 4") + asc,
        "type_count_disagree": pcd_header(type_="F F", count="1 1 1 1") + asc,
        "count_huge": pcd_header(count="1 1 2147483647") + asc,
        "size_3": pcd_header(size="4 4 3", data="binary") + pts.tobytes(),
        "binary_truncated": pcd_header(width="1000", data="binary") + pts.tobytes(),
        "binary_step_overflow": pcd_header(count="1 1 4611686018427387904", width="4", data="binary") + pts.tobytes(),
        "data_unknown": pcd_header(data="zstd") + soa,
        "no_xyz": pcd_header(fields="a b c") + asc,
        "ascii_short_rows": pcd_header() + b"1 2\n" * 10,
        "ascii_words": pcd_header() + b"x y z\n" * 10,
        "ascii_nan_inf": pcd_header() + b"nan inf -inf\n" * 10,
        "header_only": pcd_header(),
        "long_line": b"VERSION 0.7\nFIELDS " + b"x" * 200000 + b"\n",
        "many_fields": pcd_header(fields=" ".join(f"f{i}" for i in range(5000)), size=" ".join(["4"] * 5000),
                                  type_=" ".join(["F"] * 5000), count=" ".join(["1"] * 5000)) + asc,
    }


def ply_header(fmt="ascii", vertices="10", props=("float x", "float y", "float z"), extra=""):
    h = f"ply\nformat {fmt} 1.0\nelement vertex {vertices}\n" + "".join(f"property {p}\n" for p in props) + extra + "end_header\n"
    return h.encode()


def ply_cases():
    pts = np.random.RandomState(2).rand(10, 3).astype("<f4")
    asc = "".join(f"{a} {b} {c}\n" for a, b, c in pts).encode()
    face = "element face 1\nproperty list uchar int vertex_indices\n"
    return {
        "vertex_2p31": ply_header("binary_little_endian", "2147483647") + pts.tobytes(),
        "vertex_2p63": ply_header("binary_little_endian", "9223372036854775807") + pts.tobytes(),
        "vertex_negative": ply_header("ascii", "-5") + asc,
        "vertex_20_digits": ply_header("ascii", "99999999999999999999") + asc,
        "big_endian_truncated": ply_header("binary_big_endian", "1000") + pts.astype(">f4").tobytes(),
        "list_len_huge": ply_header("binary_little_endian", "1", ("list uint float x", "float y", "float z"))
        + struct.pack("<I", 0xFFFFFFFF) + b"\0" * 16,
        "face_index_out_of_range": ply_header("ascii", "10", extra=face) + asc + b"3 0 1 99999\n",
        "face_index_negative": ply_header("ascii", "10", extra=face) + asc + b"3 0 -1 2\n",
        "face_count_huge": ply_header("binary_little_endian", "10", extra="element face 4000000000\nproperty list uchar int vertex_indices\n")
        + pts.tobytes() + b"\x03" + struct.pack("<iii", 0, 1, 2),
        "face_list_uint_len": ply_header("binary_little_endian", "10", extra="element face 1\nproperty list uint int vertex_indices\n")
        + pts.tobytes() + struct.pack("<I", 1 << 30) + b"\0" * 12,
        "unknown_type": ply_header("ascii", "10", ("float128 x", "float y", "float z")) + asc,
        "unknown_format": ply_header("binary_middle_endian", "10") + pts.tobytes(),
        "no_end_header": b"ply\nformat ascii 1.0\nelement vertex 10\nproperty float x\n" + asc,
        "ascii_words": ply_header("ascii", "10") + b"a b c\n" * 10,
        "ascii_short": ply_header("ascii", "10") + b"1\n" * 10,
        "no_xyz": ply_header("ascii", "10", ("float a", "float b", "float c")) + asc,
        "junk_element_huge": ply_header("binary_little_endian", "10", extra="element junk 2000000000\nproperty double v\n") + pts.tobytes(),
        "many_properties": ply_header("ascii", "1", tuple(f"float p{i}" for i in range(20000))) + b"0 " * 20000 + b"\n",
        "nan_coords": ply_header("binary_little_endian", "10") + np.full((10, 3), np.nan, "<f4").tobytes(),
        "huge_coords": ply_header("binary_little_endian", "10") + np.full((10, 3), 3e38, "<f4").tobytes(),
    }


def geometry_cases():
    """Valid files whose geometry is degenerate (VCCS / octree / voxel-key limits: the family that
    aborted inside PCL): each must give an answer or a refusal naming the extent, never an abort."""
    r = np.random.RandomState(6)
    line = np.c_[np.linspace(0, 1, 100), np.zeros(100), np.zeros(100)]
    plane = np.c_[r.rand(400, 2), np.zeros(400)]
    room = r.rand(300, 3) * [4, 3, 2.5]
    clouds = {
        "single_point": np.array([[0.5, 0.5, 0.5]]),
        "two_points": np.array([[0, 0, 0], [1, 1, 1.0]]),
        "identical_1000": np.full((1000, 3), 0.25),
        "colinear": line,
        "plane_z0": plane,
        "offset_1e25": room + 1e25,
        "offset_1e30": room + 1e30,
        "extent_1e12": np.r_[room, [[1e12, 0, 0]]],
        "tiny_extent_1e-30": r.rand(200, 3) * 1e-30,
        "denormals": r.rand(200, 3) * 1e-40,
        "mixed_nan_rows": np.where(r.rand(300, 1) < 0.5, np.nan, room),
        "one_inf": np.r_[room, [[np.inf, 0, 0]]],
        "float_max": np.r_[room, [[3.4e38, -3.4e38, 3.4e38]]],
    }
    out = {}
    for name, pts in clouds.items():
        f = pts.astype("<f4")
        out[name + ".npy"] = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 3), }" % len(f), f.tobytes())
        out[name + ".ply"] = ply_header("binary_little_endian", str(len(f))) + f.tobytes()
        out[name + ".pcd"] = pcd_header(width=str(len(f)), data="binary") + f.tobytes()
    return out


# --------------------------------------------------------------------------------------------
# pickles (hand-written opcodes: full control over what a hostile file declares)


class P:
    """A protocol-2 pickle emitter."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, *bs):
        for x in bs:
            self.b += x if isinstance(x, (bytes, bytearray)) else bytes([x])
        return self

    def glob(self, mod, name):
        return self.op(b"c" + mod.encode() + b"\n" + name.encode() + b"\n")

    def int(self, v):
        if 0 <= v < 256:
            return self.op(b"K", bytes([v]))
        if -(2 ** 31) <= v < 2 ** 31:
            return self.op(b"J", struct.pack("<i", v))
        n = (v.bit_length() + 8) // 8
        return self.op(b"\x8a", bytes([n]), v.to_bytes(n, "little", signed=True))

    def str(self, s):
        e = s.encode()
        return self.op(b"X", struct.pack("<I", len(e)), e)

    def tuple(self, items):
        self.op(b"(")
        for it in items:
            it(self)
        return self.op(b"t")

    def stop(self):
        return bytes(self.b + b".")


def tensor(p, key, numel, offset, size, stride, storage="FloatStorage", view=None):
    """Emits torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())."""
    p.glob("torch._utils", "_rebuild_tensor_v2")
    p.op(b"(")
    # persistent id: ('storage', torch.FloatStorage, key, 'cpu', numel[, view])
    p.op(b"(")
    p.str("storage")
    p.glob("torch", storage)
    p.str(key)
    p.str("cpu")
    p.int(numel)
    if view is not None:
        view(p)
    elif view is None and False:
        pass
    p.op(b"t", b"Q")
    p.int(offset)
    p.tuple([(lambda q, d=d: q.int(d)) for d in size])
    p.tuple([(lambda q, s=s: q.int(s)) for s in stride])
    p.op(b"\x89")  # NEWFALSE
    p.glob("collections", "OrderedDict")
    p.op(b")R")
    p.op(b"t", b"R")


def state_dict_pickle(tensors):
    """{name: tensor(...)} as a pickle; `tensors` is a list of (name, kwargs of tensor())."""
    p = P()
    p.op(b"}", b"(")
    for name, kw in tensors:
        p.str(name)
        tensor(p, **kw)
    p.op(b"u")
    return p.stop()


def legacy_file(obj_pickle, storages):
    """The pre-1.6 torch format: magic, protocol, sys_info, object, storage keys, storages."""
    out = bytearray(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")
    out += P().int(1001).stop()
    si = P().op(b"}", b"(")
    si.str("protocol_version").int(1001).str("little_endian").op(b"\x88").str("type_sizes").op(b"}")
    out += si.op(b"u").stop()
    out += obj_pickle
    keys = P().op(b"]", b"(")
    for k, _, _ in storages:
        keys.str(k)
    out += keys.op(b"e").stop()
    for _, numel, data in storages:
        out += struct.pack("<q", numel) + data
    return bytes(out)


def legacy_cases():
    data = np.arange(16, dtype="<f4").tobytes()
    ok = dict(key="0", numel=16, offset=0, size=(4, 4), stride=(4, 1))

    def one(**over):
        kw = {**ok, **over}
        return legacy_file(state_dict_pickle([("w", kw)]), [("0", 16, data)])

    return {
        "view_past_storage": one(size=(5, 4)),
        "offset_past_storage": one(offset=15, size=(4,), stride=(1,)),
        "stride_past_storage": one(size=(4, 4), stride=(100, 1)),
        "negative_size": one(size=(-4, 4)),
        "negative_stride": one(stride=(-4, 1)),
        "negative_offset": one(offset=-8, size=(4,), stride=(1,)),
        "size_product_overflow": one(size=(2 ** 32, 2 ** 32, 2 ** 32), stride=(0, 0, 0)),
        "huge_size_zero_stride": one(size=(2 ** 40, 2 ** 20), stride=(0, 0)),
        "stride_overflow": one(size=(4, 4), stride=(2 ** 62, 2 ** 62)),
        "huge_int_size": one(size=(2 ** 80,), stride=(1,)),
        "numel_lies": legacy_file(state_dict_pickle([("w", ok)]), [("0", 1 << 40, data)]),
        "numel_negative": legacy_file(state_dict_pickle([("w", {**ok, "numel": -16})]), [("0", -16, data)]),
        "numel_2p62": legacy_file(state_dict_pickle([("w", {**ok, "numel": 2 ** 62})]), [("0", 2 ** 62, data)]),
        "storage_truncated": legacy_file(state_dict_pickle([("w", ok)]), [("0", 16, data[:20])]),
        "view_metadata_overflow": legacy_file(state_dict_pickle([("w", {**ok, "key": "0", "view": lambda p: p.tuple(
            [lambda q: q.str("v"), lambda q: q.int(2 ** 63 - 1), lambda q: q.int(2 ** 63 - 1)])})]), [("0", 16, data)]),
        "view_metadata_negative": legacy_file(state_dict_pickle([("w", {**ok, "view": lambda p: p.tuple(
            [lambda q: q.str("v"), lambda q: q.int(-4), lambda q: q.int(8)])})]), [("0", 16, data)]),
        "unknown_storage_key": legacy_file(state_dict_pickle([("w", ok)]), [("1", 16, data)]),
        "two_dtypes_one_key": legacy_file(state_dict_pickle([("w", ok), ("b", {**ok, "storage": "LongStorage"})]), [("0", 16, data)]),
        "os_system": legacy_file(P().glob("posix", "system").str(f"touch {MARKER}").op(b"\x85R").stop(), []),
        "deep_lists": legacy_file(bytes(b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b"."), []),
        "truncated_header": b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a",
    }


# --------------------------------------------------------------------------------------------
# zip .pth (torch >= 1.6), with a hand-written zip so every field can lie


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def zip_bytes(entries, shared_data_offsets=False, cd_offset_delta=0, eocd_count=None):
    """entries: dicts name, data (stored bytes as they appear in the file), method (0/8),
    usize, crc; optional overrides csize/usize_declared/offset."""
    out = bytearray()
    cds = bytearray()
    first_off = None
    for e in entries:
        name = e["name"].encode()
        data = e["data"]
        method = e.get("method", 0)
        csize = e.get("csize", len(data))
        usize = e.get("usize", len(data))
        c = e.get("crc", crc(data) if method == 0 else e.get("crc", 0))
        if shared_data_offsets and e.get("share") and first_off is not None:
            off = first_off
        else:
            off = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, c, csize & 0xFFFFFFFF, usize & 0xFFFFFFFF, len(name), 0)
            out += name + data
            if first_off is None and e.get("share"):
                first_off = off
        off = e.get("offset", off)
        cds += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, c, csize & 0xFFFFFFFF,
                           usize & 0xFFFFFFFF, len(name), 0, 0, 0, 0, 0, off & 0xFFFFFFFF) + name
    cd_off = len(out)
    out += cds
    n = len(entries) if eocd_count is None else eocd_count
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n & 0xFFFF, n & 0xFFFF, len(cds), (cd_off + cd_offset_delta) & 0xFFFFFFFF, 0)
    return bytes(out)


def torch_zip(pkl, storages, root="archive", extra=()):
    ents = [dict(name=f"{root}/data.pkl", data=pkl)]
    ents += [dict(name=f"{root}/data/{k}", data=d) for k, d in storages]
    ents += [dict(name=f"{root}/version", data=b"3\n"), dict(name=f"{root}/byteorder", data=b"little")]
    return ents + list(extra)


def pth_cases():
    data = np.arange(16, dtype="<f4").tobytes()
    ok = dict(key="0", numel=16, offset=0, size=(4, 4), stride=(4, 1))

    def one(**over):
        return zip_bytes(torch_zip(state_dict_pickle([("w", {**ok, **over})]), [("0", data)]))

    bomb_raw = bytes(64 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = co.compress(bomb_raw) + co.flush()
    bomb_crc = crc(bomb_raw)
    many = [("w%d" % i, {**ok, "key": str(i), "numel": 16 << 20, "size": (16 << 20,), "stride": (1,)}) for i in range(128)]
    bomb_entries = torch_zip(state_dict_pickle(many), [])
    bomb_entries += [dict(name=f"archive/data/{i}", data=bomb, method=8, usize=64 << 20, crc=bomb_crc, share=True) for i in range(128)]
    c = {
        "view_past_storage": one(size=(5, 4)),
        "negative_stride": one(stride=(-1, 1)),
        "size_product_overflow": one(size=(2 ** 32, 2 ** 32, 2 ** 32), stride=(0, 0, 0)),
        "stride_overflow": one(stride=(2 ** 62, 2 ** 62)),
        "numel_more_than_entry": one(numel=1 << 40),
        "numel_2p62": one(numel=2 ** 62),
        "missing_storage": zip_bytes(torch_zip(state_dict_pickle([("w", {**ok, "key": "7"})]), [("0", data)])),
        "zip_bomb_128x64MiB_overlapping": zip_bytes(bomb_entries, shared_data_offsets=True),
        "zip_bomb_16x64MiB": zip_bytes(bomb_entries[:4 + 16]),
        "overlapping_local_entries": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)]) +
                                               [dict(name="archive/data/1", data=data, offset=0)]),
        "entry_offset_past_file": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)]) +
                                            [dict(name="archive/extra", data=b"x", offset=0x7FFFFFFF)]),
        "declared_4g_uncompressed": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)])[:1] +
                                              [dict(name="archive/data/0", data=zlib.compress(data)[2:-4], method=8, usize=0xFFFFFFFF, crc=crc(data))] +
                                              torch_zip(b"", [])[1:]),
        "cd_offset_past_file": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)]), cd_offset_delta=1 << 30),
        "eocd_count_huge": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)]), eocd_count=65535),
        "no_data_pkl": zip_bytes([dict(name="archive/data/0", data=data)]),
        "pickle_huge_string": zip_bytes(torch_zip(b"\x80\x02X\xff\xff\xff\x7f" + b"a" * 64, [])),
        "pickle_deep_tuples": zip_bytes(torch_zip(b"\x80\x02)" + b"\x85" * 200000 + b".", [])),
        "pickle_deep_marks": zip_bytes(torch_zip(b"\x80\x02" + b"(" * 200000 + b"t" * 200000 + b".", [])),
        "pickle_memo_fanout": zip_bytes(torch_zip(
            b"\x80\x02)q\x000" + b"".join(b"(" + b"h" + bytes([l]) * 1 + (b"h" + bytes([l])) * 999 + b"tq" + bytes([l + 1]) + b"0" for l in range(10))
            + b"h\x0a.", [])),
        "pickle_os_system": zip_bytes(torch_zip(P().glob("posix", "system").str(f"touch {MARKER}").op(b"\x85R").stop(), [])),
        "pickle_eval": zip_bytes(torch_zip(P().glob("builtins", "eval").str(f"open('{MARKER}','w')").op(b"\x85R").stop(), [])),
        "pickle_truncated": zip_bytes(torch_zip(state_dict_pickle([("w", ok)])[:-9], [("0", data)])),
        "bad_crc": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)])).replace(data, bytes(64)),
        "byteorder_big": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)])[:-1] + [dict(name="archive/byteorder", data=b"big")]),
        "truncated_eocd": zip_bytes(torch_zip(state_dict_pickle([("w", ok)]), [("0", data)]))[:-10],
    }
    return c


# --------------------------------------------------------------------------------------------
# safetensors


def st_bytes(header, data=b"", n=None, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if n is None else n) + h + data


def safetensors_cases():
    data = np.arange(16, dtype="<f4").tobytes()
    w = {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}
    return {
        "header_len_2p63": st_bytes({"w": w}, data, n=2 ** 63),
        "header_len_past_file": st_bytes({"w": w}, data, n=100000),
        "header_not_json": st_bytes(None, data, raw_header=b"{not json" + b" " * 7),
        "header_deep_json": st_bytes(None, data, raw_header=b"[" * 100000 + b"]" * 100000),
        "header_array": st_bytes([1, 2, 3], data),
        "offsets_past_data": st_bytes({"w": {**w, "data_offsets": [0, 6400]}}, data),
        "offsets_reversed": st_bytes({"w": {**w, "data_offsets": [64, 0]}}, data),
        "offsets_negative": st_bytes({"w": {**w, "data_offsets": [-64, 0]}}, data),
        "offsets_2p64": st_bytes({"w": {**w, "data_offsets": [0, 18446744073709551615]}}, data),
        "offsets_float": st_bytes({"w": {**w, "data_offsets": [0.5, 64.5]}}, data),
        "overlap": st_bytes({"w": w, "b": {**w, "data_offsets": [32, 96]}}, data + data),
        "dtype_shape_mismatch": st_bytes({"w": {**w, "shape": [4, 5]}}, data),
        "shape_overflow": st_bytes({"w": {**w, "shape": [2 ** 32, 2 ** 32, 2 ** 32]}}, data),
        "shape_negative": st_bytes({"w": {**w, "shape": [-4, -4]}}, data),
        "shape_1e300": st_bytes(None, data, raw_header=b'{"w":{"dtype":"F32","shape":[1e300,4],"data_offsets":[0,64]}}'),
        "rank_100": st_bytes({"w": {**w, "shape": [1] * 100}}, data),
        "unknown_dtype": st_bytes({"w": {**w, "dtype": "C128"}}, data),
        "metadata_not_strings": st_bytes({"__metadata__": {"a": 1}, "w": w}, data),
        "metadata_bad_ov3d": st_bytes({"__metadata__": {"ov3d.voxel_size": "-1e999"}, "w": w}, data),
        "huge_string": st_bytes(None, data, raw_header=b'{"w":"' + b"a" * (1 << 20) + b'"}'),
        "many_tensors": st_bytes({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(20000)}, b""),
        "empty_name": st_bytes({"": w}, data),
        "truncated": st_bytes({"w": w}, data)[:7],
    }


# --------------------------------------------------------------------------------------------
# CLIP BPE vocabulary


def vocab_merges(n=48894):
    """A valid merges file of n merges over CLIP's byte symbols (synthetic, not CLIP's)."""
    syms = [chr(c) for c in range(33, 127)]
    lines = ["#version: 0.2"]
    pool = list(syms)
    i = 0
    while len(lines) <= n:
        a = pool[i % len(pool)]
        b = syms[(i * 7) % len(syms)]
        lines.append(f"{a} {b}")
        if len(pool) < 4000:
            pool.append(a + b)
        i += 1
    return "\n".join(lines) + "\n"


def vocab_cases():
    good = vocab_merges()
    lines = good.split("\n")
    bomb_raw = bytes(200 << 20)
    return {
        "too_few_merges": "\n".join(lines[:1000]).encode(),
        "three_symbols": "\n".join(lines[:500] + ["a b c"] + lines[501:]).encode(),
        "undefined_symbol": "\n".join(lines[:500] + ["qqqqqqqq zzzzzzzz"] + lines[501:]).encode(),
        "not_utf8": b"#version\n" + b"\xff\xfe a\n" * 48894,
        "empty": b"",
        "gzip_bomb_200MiB": gzip.compress(bomb_raw, 9),
        "gzip_truncated": gzip.compress(good.encode(), 1)[:5000],
        "gzip_corrupt": gzip.compress(good.encode(), 1)[:100] + b"\x00" * 400,
        "one_giant_line": b"#version\n" + b"a" * (8 << 20) + b"\n",
        "nul_bytes": b"#version\n" + b"\0 \0\n" * 48894,
    }


# --------------------------------------------------------------------------------------------
# PNG (depth images) and fusion manifests


def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def png(w, h, depth=16, ctype=0, rows=None, ihdr_crc_ok=True, idat=None):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0)
    c = png_chunk(b"IHDR", ihdr)
    if not ihdr_crc_ok:
        c = c[:-4] + b"\0\0\0\0"
    if idat is None:
        bpp = depth // 8 * {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype, 1)
        raw = rows if rows is not None else b"".join(b"\0" + bytes(w * bpp) for _ in range(min(h, 64)))
        idat = zlib.compress(raw)
    return sig + c + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_cases():
    return {
        "dims_2p31": png(2 ** 31 - 1, 2 ** 31 - 1, idat=zlib.compress(b"\0" * 100)),
        "dims_1e5_square": png(100000, 100000, idat=zlib.compress(b"\0" * 100)),
        "dims_zero": png(0, 10, idat=zlib.compress(b"")),
        "idat_truncated": png(64, 48)[:60],
        "ihdr_bad_crc": png(64, 48, ihdr_crc_ok=False),
        "idat_bomb": png(8192, 8192, idat=zlib.compress(bytes(8193 * 8192 * 2), 9)),
        "idat_short": png(64, 48, idat=zlib.compress(b"\0" * 10)),
        "bad_bit_depth": png(64, 48, depth=3),
        "not_png": b"GIF89a" + bytes(100),
        "rgb_depth": png(64, 48, depth=8, ctype=2),
    }


def fusion_fixture(root: Path):
    """A valid 1-frame fusion input (points, depth PNG, feature map) the manifest cases refer to."""
    root.mkdir(parents=True, exist_ok=True)
    pts = np.random.RandomState(3).rand(200, 3).astype("<f4") + np.float32([0, 0, 1])
    np.save(root / "points.npy", pts)
    w, h = 64, 48
    rows = b"".join(b"\0" + struct.pack(f">{w}H", *([1500] * w)) for _ in range(h))
    (root / "depth.png").write_bytes(png(w, h, rows=rows))
    np.save(root / "features.npy", np.zeros((8, h // 2, w // 2), np.float32))
    return pts


def manifest(frames, depth_scale=1000):
    return json.dumps({"depth_scale": depth_scale, "frames": frames}).encode()


def manifest_cases(png_names):
    K = [[50, 0, 32], [0, 50, 24], [0, 0, 1]]
    T = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    f = dict(depth="depth.png", features="features.npy", intrinsics=K, pose=T)
    c = {
        "deep_nesting": b"[" * 100000 + b"]" * 100000,
        "deep_objects": b'{"a":' * 50000 + b"1" + b"}" * 50000,
        "not_object": b"[1, 2, 3]",
        "truncated": manifest([f])[:40],
        "numbers_1e999": manifest([f]).replace(b"50", b"1e999"),
        "singular_pose": manifest([{**f, "pose": [[0] * 4] * 4}]),
        "nan_string_pose": manifest([{**f, "pose": [["NaN"] * 4] * 4}]),
        "zero_focal": manifest([{**f, "intrinsics": [[0, 0, 32], [0, 0, 24], [0, 0, 1]]}]),
        "pose_3x3": manifest([{**f, "pose": K}]),
        "depth_scale_zero": manifest([f], depth_scale=0),
        "depth_scale_negative": manifest([f], depth_scale=-1000),
        "missing_depth_file": manifest([{**f, "depth": "nope.png"}]),
        "depth_is_directory": manifest([{**f, "depth": "."}]),
        "features_are_points": manifest([{**f, "features": "points.npy"}]),
        "many_frames": manifest([f] * 20000),
        "frames_not_array": json.dumps({"frames": {"a": 1}}).encode(),
        "huge_string": b'{"frames": [], "x": "' + b"a" * (4 << 20) + b'"}',
        "invalid_utf8": b'{"frames": ["\xff\xfe"]}',
        "control_chars": b'{"frames": [\x00]}',
        "duplicate_keys": b'{"frames": [], "frames": 5}',
    }
    for n in png_names:
        c["depth_" + n] = manifest([{**f, "depth": f"../png/{n}.png"}])
    return c


def train_config_cases():
    return {
        "deep_nesting": b"[" * 100000 + b"]" * 100000,
        "not_object": b"42",
        "huge_numbers": b'{"steps": 1e999, "batch_size": -99999999999999999999}',
        "truncated": b'{"steps": 10, "data": {"tr',
        "wrong_types": b'{"steps": "ten", "model": [1, 2]}',
        "empty": b"",
    }


# --------------------------------------------------------------------------------------------


def write_corpus(out: Path):
    out = Path(out)
    groups = {
        "npy": (npy_cases(), "npy"),
        "pcd": (pcd_cases(), "pcd"),
        "ply": (ply_cases(), "ply"),
        "legacy": (legacy_cases(), "pth"),
        "pth": (pth_cases(), "pth"),
        "safetensors": (safetensors_cases(), "safetensors"),
        "vocab": (vocab_cases(), "txt"),
        "png": (png_cases(), "png"),
        "train_config": (train_config_cases(), "json"),
    }
    groups["manifest"] = (manifest_cases(list(groups["png"][0])), "json")
    groups["geometry"] = (geometry_cases(), None)  # names carry their extension (npy, ply, pcd)
    cases = []
    for g, (items, ext) in groups.items():
        d = out / g
        d.mkdir(parents=True, exist_ok=True)
        for name, data in items.items():
            p = d / (f"{name}.{ext}" if ext else name)
            p.write_bytes(data)
            cases.append({"format": g, "name": name, "path": str(p.relative_to(out))})
    fusion_fixture(out / "manifest")
    (out / "vocab_valid.txt").write_text(vocab_merges())
    (out / "cases.json").write_text(json.dumps(cases, indent=1))
    return cases


def write_seeds(out: Path):
    """Small valid files per format: the seed corpora of the fuzz targets (Tests/Fixtures/hostile/seeds,
    committed; the mutation tests in Tests/OV3DCoreTests/ParserFuzzTests.swift and fuzz/ start from them)."""
    out = Path(out)
    for d in ("npy", "pcd", "ply", "checkpoint", "vocab", "png", "json"):
        (out / d).mkdir(parents=True, exist_ok=True)
    pts = np.random.RandomState(4).rand(12, 3).astype("<f4")
    (out / "npy/points.npy").write_bytes(npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (12, 3), }", pts.tobytes()))
    (out / "npy/fortran_be.npy").write_bytes(npy_bytes("{'descr': '>f8', 'fortran_order': True, 'shape': (3, 4), }",
                                                      pts[:4].T.astype(">f8").tobytes(order="F")))
    (out / "pcd/ascii.pcd").write_bytes(pcd_header(width="12") + "".join(f"{a} {b} {c}\n" for a, b, c in pts).encode())
    (out / "pcd/binary.pcd").write_bytes(pcd_header(fields="x y z label", size="4 4 4 4", type_="F F F U", count="1 1 1 1", width="12", data="binary")
                                         + np.c_[pts, np.arange(12, dtype="<f4")].astype("<f4").tobytes())
    (out / "ply/ascii_mesh.ply").write_bytes(ply_header("ascii", "12", extra="element face 2\nproperty list uchar int vertex_indices\n")
                                             + "".join(f"{a} {b} {c}\n" for a, b, c in pts).encode() + b"3 0 1 2\n4 3 4 5 6\n")
    (out / "ply/binary_be.ply").write_bytes(ply_header("binary_big_endian", "12", ("float x", "float y", "float z", "uchar red", "uchar green", "uchar blue"))
                                            + b"".join(p.astype(">f4").tobytes() + bytes([i, 2 * i, 3 * i]) for i, p in enumerate(pts)))
    data = np.arange(16, dtype="<f4").tobytes()
    ok = dict(key="0", numel=16, offset=0, size=(4, 4), stride=(4, 1))
    tr = dict(key="0", numel=16, offset=1, size=(3, 2), stride=(1, 4))
    (out / "checkpoint/zip.pth").write_bytes(zip_bytes(torch_zip(state_dict_pickle([("w", ok), ("t", tr)]), [("0", data)])))
    (out / "checkpoint/legacy.pth").write_bytes(legacy_file(state_dict_pickle([("w", ok), ("t", tr)]), [("0", 16, data)]))
    (out / "checkpoint/model.safetensors").write_bytes(st_bytes({"__metadata__": {"ov3d.voxel_size": "0.02"},
                                                                  "w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]},
                                                                  "b": {"dtype": "F16", "shape": [2], "data_offsets": [64, 68]}}, data + b"\0" * 4))
    (out / "vocab/merges300.txt").write_text(vocab_merges(300))
    w, h = 16, 12
    rows = b"".join(b"\0" + struct.pack(f">{w}H", *[(x * 97 + y * 13) % 4000 for x in range(w)]) for y in range(h))
    (out / "png/depth16.png").write_bytes(png(w, h, rows=rows))
    K = [[50, 0, 32], [0, 50, 24], [0, 0, 1]]
    T = [[1, 0, 0, 0.5], [0, 0.8, -0.6, 0], [0, 0.6, 0.8, 1], [0, 0, 0, 1]]
    (out / "json/manifest.json").write_bytes(manifest([dict(depth="d.png", features="f.npy", intrinsics=K, pose=T)] * 2))
    (out / "json/values.json").write_bytes(b'{"a": [1, -2.5e-3, true, null, "s\\u00e9\\n"], "b": {"c": [[]], "d": 1e300}}')


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        write_seeds(Path(sys.argv[2]))
        print(f"seed corpora in {sys.argv[2]}")
        sys.exit(0)
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    cs = write_corpus(Path(sys.argv[1]))
    print(f"{len(cs)} hostile files in {sys.argv[1]}")
