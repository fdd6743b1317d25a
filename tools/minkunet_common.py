# Shared pieces of the MinkUNet reference tools (tools/minkunet_reference.py, bench/peers.py).
#
# Not needed at run time or in CI. How to create the environment and the pinned versions are in
# the header of tools/minkunet_reference.py.
#
# Contents (all written from ../shared/reference/{minkunet,minkowski-engine-semantics,
# openscene-pipeline}.md, no third-party code copied):
#   * voxelize()            OpenScene/BPNet voxeliser (float64, shift to min 0, FNV-1 hash,
#                            np.unique -> first point represents the voxel, inverse map).
#   * Arch / ARCHS / arch() MinkUNet family description (LAYERS, PLANES, INIT_DIM, heads).
#   * seeded_state_dict()   deterministic weights in MinkowskiEngine layout with the real
#                            OpenScene key names (prefix `net3d.`), reproducible bit-for-bit in
#                            any language (splitmix64 counter generator, see weight_values()).
#   * MEReference           plain-PyTorch gather-GEMM-scatter implementation of ME semantics
#                            (coordinate keys + sorted lookup as the hash, kernel maps per
#                            (stride, kernel, transposed), index_add scatter).
#   * SpconvMinkUNet        the same network expressed with spconv 2.3 modules.
import hashlib
import math
import os
import struct
import sys

import numpy as np
import torch

# ----------------------------------------------------------------------------------------------
# Voxeliser (minkowski-engine-semantics.md §7.3, augmentation off)
# ----------------------------------------------------------------------------------------------
# numpy-only, shared with the tests (tests/minkunet_fixture.py), which cannot import torch
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from minkunet_fixture import fnv1_hash_coords, voxelize  # noqa: E402,F401


# ----------------------------------------------------------------------------------------------
# Architecture description (minkunet.md §2-§4)
# ----------------------------------------------------------------------------------------------
class Arch:
    def __init__(self, name, layers, planes, init_dim=32, in_ch=3, heads=(("final", 512),)):
        self.name = name
        self.layers = list(layers)
        self.planes = list(planes)
        self.init_dim = init_dim
        self.in_ch = in_ch
        self.heads = list(heads)

    def scaled(self, div, heads):
        """Same structure, every width divided by `div` (the spec lets a checkpoint's widths vary)."""
        return Arch(f"{self.name}/w{div}", self.layers, [p // div for p in self.planes],
                    self.init_dim // div, self.in_ch, heads)


ARCHS = {
    "14A": ([1] * 8, [32, 64, 128, 256, 128, 128, 96, 96]),
    "14B": ([1] * 8, [32, 64, 128, 256, 128, 128, 128, 128]),
    "14C": ([1] * 8, [32, 64, 128, 256, 192, 192, 128, 128]),
    "14D": ([1] * 8, [32, 64, 128, 256, 384, 384, 384, 384]),
    "18A": ([2] * 8, [32, 64, 128, 256, 128, 128, 96, 96]),
    "18B": ([2] * 8, [32, 64, 128, 256, 128, 128, 128, 128]),
    "18D": ([2] * 8, [32, 64, 128, 256, 384, 384, 384, 384]),
    "34A": ([2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 64, 64]),
    "34B": ([2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 64, 32]),
    "34C": ([2, 3, 4, 6, 2, 2, 2, 2], [32, 64, 128, 256, 256, 128, 96, 96]),
}


def arch(variant, heads=(("final", 512),)):
    layers, planes = ARCHS[variant]
    return Arch("MinkUNet" + variant, layers, planes, 32, 3, heads)


def conv_list(a):
    """[(name, K, cin, cout)] for every conv in registration order (K = kernel size; 1 -> 2-D)."""
    out = []
    P, L, C0 = a.planes, a.layers, a.init_dim
    out.append(("conv0p1s1", 5, a.in_ch, C0))
    out.append(("conv1p1s2", 2, C0, C0))
    inpl = C0

    def blocks(bname, nblocks, inp, planes):
        res = []
        for i in range(nblocks):
            cin = inp if i == 0 else planes
            res.append((f"{bname}.{i}.conv1", 3, cin, planes))
            res.append((f"{bname}.{i}.conv2", 3, planes, planes))
            if i == 0 and inp != planes:
                res.append((f"{bname}.{i}.downsample.0", 1, inp, planes))
        return res

    out += blocks("block1", L[0], inpl, P[0]); inpl = P[0]
    out.append(("conv2p2s2", 2, inpl, inpl))
    out += blocks("block2", L[1], inpl, P[1]); inpl = P[1]
    out.append(("conv3p4s2", 2, inpl, inpl))
    out += blocks("block3", L[2], inpl, P[2]); inpl = P[2]
    out.append(("conv4p8s2", 2, inpl, inpl))
    out += blocks("block4", L[3], inpl, P[3]); inpl = P[3]
    out.append(("convtr4p16s2", 2, inpl, P[4]))
    out += blocks("block5", L[4], P[4] + P[2], P[4]); inpl = P[4]
    out.append(("convtr5p8s2", 2, inpl, P[5]))
    out += blocks("block6", L[5], P[5] + P[1], P[5]); inpl = P[5]
    out.append(("convtr6p4s2", 2, inpl, P[6]))
    out += blocks("block7", L[6], P[6] + P[0], P[6]); inpl = P[6]
    out.append(("convtr7p2s2", 2, inpl, P[7]))
    out += blocks("block8", L[7], P[7] + C0, P[7]); inpl = P[7]
    for hname, d in a.heads:
        out.append((hname, 1, inpl, d))
    return out


def bn_list(a):
    """[(name, C)] for every BatchNorm module (key prefix `<name>.bn.`)."""
    res = []
    for name, K, cin, cout in conv_list(a):
        if name.startswith("final"):
            continue
        if name.startswith("conv0"):
            res.append(("bn0", cout))
        elif name.startswith("conv") and "p" in name and name[4].isdigit() and name.startswith("conv") and not name.startswith("convtr"):
            res.append(("bn" + name[4], cout))
        elif name.startswith("convtr"):
            res.append(("bntr" + name[6], cout))
        elif name.endswith("conv1"):
            res.append((name[:-5] + "norm1", cout))
        elif name.endswith("conv2"):
            res.append((name[:-5] + "norm2", cout))
        elif name.endswith("downsample.0"):
            res.append((name[:-1] + "1", cout))
    return res


# ----------------------------------------------------------------------------------------------
# Deterministic weights (language-independent generator)
# ----------------------------------------------------------------------------------------------
M64 = (1 << 64) - 1


def fnv1a64_str(s):
    h = 14695981039346656037
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & M64
    return h


def splitmix64_np(x):
    """x: uint64 array. Standard splitmix64 finaliser of (x + golden)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def weight_values(seed, key, count, amp, offset):
    """Element i (flat, row-major in the stored ME layout) of tensor `key` (full key name incl.
    prefix):  z = splitmix64((fnv1a64(key) XOR seed) + i  mod 2^64);  m = z >> 40  (24 bits);
    value = float32(m - 2^23) * float32(amp / 2^23) + float32(offset), all float32 ops
    (so value is uniform in [offset-amp, offset+amp))."""
    base = np.uint64(fnv1a64_str(key) ^ (seed & M64))
    with np.errstate(over="ignore"):
        x = base + np.arange(count, dtype=np.uint64)
    m = (splitmix64_np(x) >> np.uint64(40)).astype(np.int64)
    v = (m - (1 << 23)).astype(np.float32) * np.float32(np.float32(amp) / np.float32(1 << 23))
    return (v + np.float32(offset)).astype(np.float32)


def seeded_state_dict(a, seed=20261122, prefix="net3d."):
    """Weights in MinkowskiEngine layout with OpenScene key names.
    conv `<name>.kernel`: [K^3, Cin, Cout] (2-D [Cin, Cout] for 1x1), amp = sqrt(6 / (K^3*Cin))
        (Kaiming-uniform by fan-in) computed in float64 then rounded to float32.
    BN `<name>.bn.weight` 1 +- 0.25, `.bn.bias` 0 +- 0.1, `.bn.running_mean` 0 +- 0.1,
       `.bn.running_var` 1 +- 0.5, `.bn.num_batches_tracked` int64 scalar 0."""
    sd = {}
    for name, K, cin, cout in conv_list(a):
        key = f"{prefix}{name}.kernel"
        vol = K ** 3
        shape = (cin, cout) if K == 1 else (vol, cin, cout)
        amp = math.sqrt(6.0 / (vol * cin))
        sd[key] = weight_values(seed, key, int(np.prod(shape)), amp, 0.0).reshape(shape)
    for name, C in bn_list(a):
        for field, amp, off in (("weight", 0.25, 1.0), ("bias", 0.1, 0.0),
                                ("running_mean", 0.1, 0.0), ("running_var", 0.5, 1.0)):
            key = f"{prefix}{name}.bn.{field}"
            sd[key] = weight_values(seed, key, C, amp, off)
        sd[f"{prefix}{name}.bn.num_batches_tracked"] = np.array(0, dtype=np.int64)
    return sd


def load_state_dict(path):
    """safetensors -> {key: np.ndarray}; strips a leading `module.`."""
    from safetensors.numpy import load_file
    sd = load_file(path)
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def arch_from_state_dict(sd, prefix="net3d."):
    """Read the MinkUNet variant and widths from key names and shapes (BasicBlock family)."""
    W = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    conv0 = W["conv0p1s1.kernel"]
    in_ch, init_dim = int(conv0.shape[1]), int(conv0.shape[2])
    layers, planes = [], []
    for b in range(1, 9):
        n = 0
        while f"block{b}.{n}.conv1.kernel" in W:
            n += 1
        if n == 0:
            raise ValueError(f"no block{b}.0.conv1.kernel in the state dict")
        layers.append(n)
        planes.append(int(W[f"block{b}.0.conv2.kernel"].shape[2]))
    heads = [(k[:-len(".kernel")], int(v.shape[-1])) for k, v in W.items()
             if k.startswith("final") and k.endswith(".kernel")]
    order = {"final": 0, "final_dinov2": 1, "final_sd": 2}
    heads.sort(key=lambda h: (order.get(h[0], 9), h[0]))
    return Arch("MinkUNet(from state dict)", layers, planes, init_dim, in_ch, heads)


def save_safetensors(path, sd, metadata=None):
    """Deterministic safetensors writer (the safetensors package orders its JSON header from a
    hash map, so its bytes vary between runs): keys in sorted order, header padded with spaces to
    a multiple of 8. The result is read back with the safetensors package to check it."""
    import json
    names = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
             np.dtype("<i4"): "I32", np.dtype("uint8"): "U8", np.dtype("<u2"): "U16"}
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    for k in sorted(sd):
        a = np.array(sd[k], order="C")        # (ascontiguousarray would turn 0-d into 1-d)
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": names[a.dtype.newbyteorder("<")], "shape": list(a.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    from safetensors.numpy import load_file
    back = load_file(path)
    assert sorted(back) == sorted(sd) and all(np.array_equal(back[k], np.asarray(sd[k])) for k in sd)


def bytes_digest(arr):
    """(sha256 hex, fnv1a64 hex) of the array's raw little-endian C-order bytes."""
    b = np.ascontiguousarray(arr).tobytes()
    h = 14695981039346656037
    a = np.frombuffer(b, dtype=np.uint8)
    # vectorised FNV-1a is sequential; do it in chunks with python ints (fast enough for MBs)
    for byte in a.tolist():
        h ^= byte
        h = (h * 1099511628211) & M64
    return hashlib.sha256(b).hexdigest(), f"{h:016x}"


# ----------------------------------------------------------------------------------------------
# Kernel offsets (minkowski-engine-semantics.md §3)
# ----------------------------------------------------------------------------------------------
def kernel_offsets(K):
    """[K^3, 3] int64 offsets in units of the tensor stride, ME order (x fastest)."""
    offs = []
    for k in range(K ** 3):
        i = [k % K, (k // K) % K, k // (K * K)]
        if K % 2 == 1:
            offs.append([v - K // 2 for v in i])
        else:
            offs.append(i)
    return torch.tensor(offs, dtype=torch.int64)


# ----------------------------------------------------------------------------------------------
# Plain-PyTorch ME-semantics implementation (gather-GEMM-scatter)
# ----------------------------------------------------------------------------------------------
class CoordMap:
    """Coordinates at one tensor stride (voxel units) with a key index for lookups.
    The 'hash': key = (x+B)<<42 | (y+B)<<21 | (z+B) (B = 2^20), looked up by binary search in
    the sorted keys (exact, collision-free)."""
    BIAS = 1 << 20

    def __init__(self, coords, ts):
        self.coords = coords.to(torch.int64)
        self.ts = ts
        keys = self.key(self.coords)
        self.sorted_keys, self.order = torch.sort(keys)
        assert bool((self.sorted_keys[1:] != self.sorted_keys[:-1]).all()), "duplicate coords"

    @classmethod
    def key(cls, c):
        c = c + cls.BIAS
        return (c[:, 0] << 42) | (c[:, 1] << 21) | c[:, 2]

    def lookup(self, q):
        """rows of q in this map or -1."""
        k = self.key(q)
        pos = torch.searchsorted(self.sorted_keys, k).clamp(max=len(self.sorted_keys) - 1)
        hit = self.sorted_keys[pos] == k
        return torch.where(hit, self.order[pos], torch.full_like(pos, -1))

    def __len__(self):
        return self.coords.shape[0]


class KernelMap:
    def __init__(self, in_rows, out_rows, n_out):
        self.in_rows = in_rows    # list per offset of int64 tensors
        self.out_rows = out_rows
        self.n_out = n_out

    def counts(self):
        return np.array([len(r) for r in self.in_rows], dtype=np.int64)


def build_kernel_map(in_map, out_map, K):
    """Regular ME kernel map: for each out coord o and offset k, input o + off_k * ts_in."""
    offs = kernel_offsets(K) * in_map.ts
    ins, outs = [], []
    for k in range(offs.shape[0]):
        rows = in_map.lookup(out_map.coords + offs[k])
        hit = torch.nonzero(rows >= 0).flatten()
        ins.append(rows[hit].contiguous())
        outs.append(hit.contiguous())
    return KernelMap(ins, outs, len(out_map))


def strided_coords(c, ts_out):
    """floor(c / ts_out) * ts_out, de-duplicated (row order: sorted; any order is valid)."""
    d = torch.div(c, ts_out, rounding_mode="floor") * ts_out
    return torch.unique(d, dim=0)


class MEReference:
    """MinkUNet forward with ME semantics. state dict in ME layout (numpy). dtype float32/64."""

    def __init__(self, a, sd, prefix="net3d.", dtype=torch.float32):
        self.a = a
        self.dtype = dtype
        self.W = {k[len(prefix):]: torch.from_numpy(np.array(v)).to(dtype)
                  for k, v in sd.items() if not k.endswith("num_batches_tracked")}
        self.maps = {}
        self.kmaps = {}

    # coordinate management -----------------------------------------------------------------
    def setup(self, coords):
        c = torch.as_tensor(np.asarray(coords), dtype=torch.int64)
        self.maps = {1: CoordMap(c, 1)}
        for ts in (2, 4, 8, 16):
            self.maps[ts] = CoordMap(strided_coords(self.maps[ts // 2].coords, ts), ts)
        self.kmaps = {}

    def kmap(self, ts, K, kind):
        """kind: 'subm' (stride 1), 'down' (ts -> 2ts), 'up' (transposed 2ts -> ts... keyed by
        output ts), 'one' (1x1)."""
        key = (ts, K, kind)
        if key in self.kmaps:
            return self.kmaps[key]
        if kind == "subm":
            km = build_kernel_map(self.maps[ts], self.maps[ts], K)
        elif kind == "one":
            n = len(self.maps[ts])
            r = torch.arange(n)
            km = KernelMap([r], [r], n)
        elif kind == "down":   # input ts, output 2ts
            km = build_kernel_map(self.maps[ts], self.maps[2 * ts], 2)
        elif kind == "up":     # input 2ts (coarse), output ts (fine): regular map fine->coarse, swapped
            fwd = build_kernel_map(self.maps[ts], self.maps[2 * ts], 2)
            km = KernelMap(fwd.out_rows, fwd.in_rows, len(self.maps[ts]))
        self.kmaps[key] = km
        return km

    # compute --------------------------------------------------------------------------------
    def conv(self, x, name, km):
        W = self.W[name + ".kernel"]
        if W.dim() == 2:
            W = W.unsqueeze(0)
        out = torch.zeros(km.n_out, W.shape[2], dtype=self.dtype)
        for k in range(W.shape[0]):
            if len(km.in_rows[k]) == 0:
                continue
            out.index_add_(0, km.out_rows[k], x.index_select(0, km.in_rows[k]) @ W[k])
        return out

    def bn(self, x, name):
        p = lambda f: self.W[f"{name}.bn.{f}"]
        return (x - p("running_mean")) / torch.sqrt(p("running_var") + 1e-5) * p("weight") + p("bias")

    def block(self, x, bname, nblocks, ts):
        for i in range(nblocks):
            pre = f"{bname}.{i}"
            res = x
            if f"{pre}.downsample.0.kernel" in self.W:
                res = self.bn(self.conv(x, f"{pre}.downsample.0", self.kmap(ts, 1, "one")), f"{pre}.downsample.1")
            y = torch.relu(self.bn(self.conv(x, f"{pre}.conv1", self.kmap(ts, 3, "subm")), f"{pre}.norm1"))
            y = self.bn(self.conv(y, f"{pre}.conv2", self.kmap(ts, 3, "subm")), f"{pre}.norm2")
            x = torch.relu(y + res)
        return x

    def forward(self, feats):
        L = self.a.layers
        x = torch.as_tensor(feats, dtype=self.dtype)
        relu = torch.relu
        out_p1 = relu(self.bn(self.conv(x, "conv0p1s1", self.kmap(1, 5, "subm")), "bn0"))
        x = relu(self.bn(self.conv(out_p1, "conv1p1s2", self.kmap(1, 2, "down")), "bn1"))
        out_b1p2 = self.block(x, "block1", L[0], 2)
        x = relu(self.bn(self.conv(out_b1p2, "conv2p2s2", self.kmap(2, 2, "down")), "bn2"))
        out_b2p4 = self.block(x, "block2", L[1], 4)
        x = relu(self.bn(self.conv(out_b2p4, "conv3p4s2", self.kmap(4, 2, "down")), "bn3"))
        out_b3p8 = self.block(x, "block3", L[2], 8)
        x = relu(self.bn(self.conv(out_b3p8, "conv4p8s2", self.kmap(8, 2, "down")), "bn4"))
        x = self.block(x, "block4", L[3], 16)
        x = relu(self.bn(self.conv(x, "convtr4p16s2", self.kmap(8, 2, "up")), "bntr4"))
        x = self.block(torch.cat([x, out_b3p8], 1), "block5", L[4], 8)
        x = relu(self.bn(self.conv(x, "convtr5p8s2", self.kmap(4, 2, "up")), "bntr5"))
        x = self.block(torch.cat([x, out_b2p4], 1), "block6", L[5], 4)
        x = relu(self.bn(self.conv(x, "convtr6p4s2", self.kmap(2, 2, "up")), "bntr6"))
        x = self.block(torch.cat([x, out_b1p2], 1), "block7", L[6], 2)
        x = relu(self.bn(self.conv(x, "convtr7p2s2", self.kmap(1, 2, "up")), "bntr7"))
        x = self.block(torch.cat([x, out_p1], 1), "block8", L[7], 1)
        return {h: self.conv(x, h, self.kmap(1, 1, "one")) for h, _ in self.a.heads}

    def kernel_map_counts(self):
        """{'s{ts}_k{K}_{kind}': int64 counts per offset} for every map used by the forward.
        ts = the map's *input* tensor stride for subm/one/down and the *output* (fine) stride
        for up, i.e. 'up' at ts t is the transposed conv 2t -> t."""
        return {f"s{ts}_k{K}_{kind}": km.counts() for (ts, K, kind), km in sorted(self.kmaps.items())}

    def flops(self):
        """2 * pairs * Cin * Cout summed over every conv of the forward (heads included)."""
        total = 0
        tsmap = {}
        # recompute from conv_list with the map each conv used
        for name, K, cin, cout in conv_list(self.a):
            km = self._kmap_of(name, K)
            total += 2 * int(sum(len(r) for r in km.in_rows)) * cin * cout
        return total

    def _kmap_of(self, name, K):
        lvl = {"block1": 2, "block2": 4, "block3": 8, "block4": 16, "block5": 8, "block6": 4,
               "block7": 2, "block8": 1}
        if name == "conv0p1s1":
            return self.kmap(1, 5, "subm")
        if name.startswith("final"):
            return self.kmap(1, 1, "one")
        if name.startswith("convtr"):
            return self.kmap(int(name.split("p")[1].split("s")[0]) // 2, 2, "up")
        if name.startswith("conv"):
            return self.kmap(int(name.split("p")[1].split("s")[0]), 2, "down")
        ts = lvl[name.split(".")[0]]
        return self.kmap(ts, 1, "one") if K == 1 else self.kmap(ts, 3, "subm")


# ----------------------------------------------------------------------------------------------
# spconv 2.3 network
# ----------------------------------------------------------------------------------------------
def me_to_spconv_weight(W, K):
    """ME [K^3, Cin, Cout] (k = ix + K*iy + K^2*iz) -> spconv [Cout, ix, iy, iz, Cin].
    1x1: spconv's 1x1 path reads the weight memory as [Cin, Cout], so the ME matrix is stored
    untransposed in a [Cout, 1, 1, 1, Cin]-shaped tensor."""
    W = torch.as_tensor(np.asarray(W))
    if W.dim() == 2:
        cin, cout = W.shape
        return W.contiguous().reshape(cout, 1, 1, 1, cin).clone()
    vol, cin, cout = W.shape
    assert vol == K ** 3
    return W.reshape(K, K, K, cin, cout).permute(4, 2, 1, 0, 3).contiguous()


def build_spconv(a, sd, prefix="net3d."):
    import spconv.pytorch as spc
    import torch.nn as nn

    def Wt(name, K):
        return me_to_spconv_weight(sd[prefix + name + ".kernel"], K)

    def BN(name, C):
        bn = nn.BatchNorm1d(C, eps=1e-5, momentum=0.1)
        for f in ("weight", "bias", "running_mean", "running_var"):
            getattr(bn, f).data.copy_(torch.from_numpy(np.array(sd[f"{prefix}{name}.bn.{f}"])))
        bn.eval()
        return bn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleDict()
            self.bns = nn.ModuleDict()
            for name, K, cin, cout in conv_list(a):
                m = self._make(name, K, cin, cout)
                m.weight.data.copy_(Wt(name, K))
                self.convs[name.replace(".", "_")] = m
            for name, C in bn_list(a):
                self.bns[name.replace(".", "_")] = BN(name, C)

        def _make(self, name, K, cin, cout):
            lvl = {"block1": 2, "block2": 4, "block3": 8, "block4": 16, "block5": 8,
                   "block6": 4, "block7": 2, "block8": 1}
            if name == "conv0p1s1":
                return spc.SubMConv3d(cin, cout, 5, bias=False, indice_key="subm1k5", algo=spc.ConvAlgo.Native)
            if name.startswith("final"):
                return spc.SubMConv3d(cin, cout, 1, bias=False, indice_key="subm1k1", algo=spc.ConvAlgo.Native)
            if name.startswith("convtr"):
                ts_in = int(name.split("p")[1].split("s")[0])
                return spc.SparseInverseConv3d(cin, cout, 2, bias=False, indice_key=f"down{ts_in // 2}",
                                               algo=spc.ConvAlgo.Native)
            if name.startswith("conv"):
                ts = int(name.split("p")[1].split("s")[0])
                return spc.SparseConv3d(cin, cout, 2, stride=2, bias=False, indice_key=f"down{ts}",
                                        algo=spc.ConvAlgo.Native)
            ts = lvl[name.split(".")[0]]
            if K == 1:
                return spc.SubMConv3d(cin, cout, 1, bias=False, indice_key=f"subm{ts}k1", algo=spc.ConvAlgo.Native)
            return spc.SubMConv3d(cin, cout, 3, bias=False, indice_key=f"subm{ts}k3", algo=spc.ConvAlgo.Native)

        def c(self, x, name):
            return self.convs[name.replace(".", "_")](x)

        def b(self, x, name, relu=True):
            f = self.bns[name.replace(".", "_")](x.features)
            return x.replace_feature(torch.relu(f) if relu else f)

        def block(self, x, bname, n):
            for i in range(n):
                pre = f"{bname}.{i}"
                res = x
                if f"{pre}_downsample_0".replace(".", "_") in self.convs:
                    res = self.b(self.c(x, f"{pre}.downsample.0"), f"{pre}.downsample.1", relu=False)
                y = self.b(self.c(x, f"{pre}.conv1"), f"{pre}.norm1")
                y = self.b(self.c(y, f"{pre}.conv2"), f"{pre}.norm2", relu=False)
                x = y.replace_feature(torch.relu(y.features + res.features))
            return x

        def cat(self, x, skip):
            return x.replace_feature(torch.cat([x.features, skip.features], 1))

        def forward(self, x):
            L = a.layers
            out_p1 = self.b(self.c(x, "conv0p1s1"), "bn0")
            x = self.b(self.c(out_p1, "conv1p1s2"), "bn1")
            out_b1p2 = self.block(x, "block1", L[0])
            x = self.b(self.c(out_b1p2, "conv2p2s2"), "bn2")
            out_b2p4 = self.block(x, "block2", L[1])
            x = self.b(self.c(out_b2p4, "conv3p4s2"), "bn3")
            out_b3p8 = self.block(x, "block3", L[2])
            x = self.b(self.c(out_b3p8, "conv4p8s2"), "bn4")
            x = self.block(x, "block4", L[3])
            x = self.b(self.c(x, "convtr4p16s2"), "bntr4")
            x = self.block(self.cat(x, out_b3p8), "block5", L[4])
            x = self.b(self.c(x, "convtr5p8s2"), "bntr5")
            x = self.block(self.cat(x, out_b2p4), "block6", L[5])
            x = self.b(self.c(x, "convtr6p4s2"), "bntr6")
            x = self.block(self.cat(x, out_b1p2), "block7", L[6])
            x = self.b(self.c(x, "convtr7p2s2"), "bntr7")
            x = self.block(self.cat(x, out_p1), "block8", L[7])
            self.last_tensor = x     # its indice_dict holds every kernel map spconv built
            return {h: self.c(x, h).features for h, _ in a.heads}

    net = Net().eval()
    return net


def spconv_pair_counts(net):
    """Kernel-map pair counts per offset from spconv's own indice data after a forward,
    re-indexed to ME offset order ({'s1_k5_subm': counts, 's1_k2_down': ...}). spconv numbers
    offsets ix*K^2 + iy*K + iz (weight [Cout, ix, iy, iz, Cin]); ME uses ix + K*iy + K^2*iz."""
    res = {}
    for key, d in net.last_tensor.indice_dict.items():
        K = int(d.ksize[0])
        n = d.indice_pair_num.detach().cpu().numpy().reshape(-1)[:K ** 3].astype(np.int64)
        me = np.zeros(K ** 3, np.int64)
        for ix in range(K):
            for iy in range(K):
                for iz in range(K):
                    me[ix + K * iy + K * K * iz] = n[ix * K * K + iy * K + iz]
        if key.startswith("subm"):
            ts, k = key[4:].split("k")
            res[f"s{ts}_k{k}_subm"] = me
        else:
            res[f"s{key[4:]}_k2_down"] = me
    return res


def spconv_input(coords, feats):
    """SparseConvTensor for batch 0; spatial shape padded up to a multiple of 16 per axis
    (spconv silently drops voxels otherwise)."""
    import spconv.pytorch as spc
    c = np.asarray(coords)
    assert c.min() >= 0
    shape = [int(((int(c[:, j].max()) + 1 + 15) // 16) * 16) for j in range(3)]
    idx = torch.zeros((c.shape[0], 4), dtype=torch.int32)
    idx[:, 1:] = torch.from_numpy(c.astype(np.int32))
    return spc.SparseConvTensor(torch.as_tensor(feats, dtype=torch.float32).contiguous(), idx, shape, 1)


def rel_maxabs(a, b):
    """max|a-b| / max|b| over all rows and channels."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)), float(np.abs(a - b).max())
