#!/usr/bin/env python3
"""Shows that ov3d's `.pth` export (`ov3d train ... "export_pth"`) is what PyTorch and OpenScene expect:
`torch.load(path, weights_only=True)` reads it as an OrderedDict, and a plain-torch module tree with
OpenScene's MinkUNet names and MinkowskiEngine's parameter layouts (`kernel` [k³, in, out] / [in, out],
`bias` [1, out], BatchNorm1d under `.bn`; written from ../shared/reference/minkunet.md §1-§5) accepts it
with `load_state_dict(strict=True)` — bare (MinkUNet18A) and with the `net3d.` prefix (OpenScene's
DisNet). Every exported tensor equals the `out` safetensors bit for bit.

Run (the tool built: swift build --product ov3d-tool; torch pinned):
    /work/venv-tools/bin/pip install torch==2.13.0+cpu numpy
    OV3D_TOOL=.build/debug/ov3d-tool /work/venv-tools/bin/python tools/check_pth_export.py [--arch 18A] [--final-bias]
"""
import argparse
import collections
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from minkunet_common import ARCHS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class MEConv(nn.Module):
    """MinkowskiConvolution's parameters: `kernel` [K³, in, out] ([in, out] for K = 1), optional `bias` [1, out]."""

    def __init__(self, cin, cout, k, bias=False):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros((cin, cout) if k == 1 else (k ** 3, cin, cout)))
        if bias:
            self.bias = nn.Parameter(torch.zeros(1, cout))
        else:
            self.register_parameter("bias", None)


class MEBatchNorm(nn.Module):
    """MinkowskiBatchNorm: a BatchNorm1d named `bn`."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm1d(c, eps=1e-5, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, downsample=None):
        super().__init__()
        self.conv1 = MEConv(inplanes, planes, 3)
        self.norm1 = MEBatchNorm(planes)
        self.conv2 = MEConv(planes, planes, 3)
        self.norm2 = MEBatchNorm(planes)
        self.relu = nn.ReLU()
        self.downsample = downsample


class MinkUNet(nn.Module):
    """OpenScene's MinkUNetBase module tree (names and registration order as `mink_unet.py`)."""

    def __init__(self, layers, planes, in_ch=3, out_ch=512, init_dim=32, final_bias=False):
        super().__init__()
        self.inplanes = init_dim
        self.conv0p1s1 = MEConv(in_ch, init_dim, 5)
        self.bn0 = MEBatchNorm(init_dim)
        self.conv1p1s2 = MEConv(init_dim, init_dim, 2)
        self.bn1 = MEBatchNorm(init_dim)
        self.block1 = self._layer(planes[0], layers[0])
        self.conv2p2s2 = MEConv(self.inplanes, self.inplanes, 2)
        self.bn2 = MEBatchNorm(self.inplanes)
        self.block2 = self._layer(planes[1], layers[1])
        self.conv3p4s2 = MEConv(self.inplanes, self.inplanes, 2)
        self.bn3 = MEBatchNorm(self.inplanes)
        self.block3 = self._layer(planes[2], layers[2])
        self.conv4p8s2 = MEConv(self.inplanes, self.inplanes, 2)
        self.bn4 = MEBatchNorm(self.inplanes)
        self.block4 = self._layer(planes[3], layers[3])
        self.convtr4p16s2 = MEConv(self.inplanes, planes[4], 2)
        self.bntr4 = MEBatchNorm(planes[4])
        self.inplanes = planes[4] + planes[2]
        self.block5 = self._layer(planes[4], layers[4])
        self.convtr5p8s2 = MEConv(self.inplanes, planes[5], 2)
        self.bntr5 = MEBatchNorm(planes[5])
        self.inplanes = planes[5] + planes[1]
        self.block6 = self._layer(planes[5], layers[5])
        self.convtr6p4s2 = MEConv(self.inplanes, planes[6], 2)
        self.bntr6 = MEBatchNorm(planes[6])
        self.inplanes = planes[6] + planes[0]
        self.block7 = self._layer(planes[6], layers[6])
        self.convtr7p2s2 = MEConv(self.inplanes, planes[7], 2)
        self.bntr7 = MEBatchNorm(planes[7])
        self.inplanes = planes[7] + init_dim
        self.block8 = self._layer(planes[7], layers[7])
        self.final = MEConv(planes[7], out_ch, 1, bias=final_bias)
        self.relu = nn.ReLU(inplace=True)

    def _layer(self, planes, blocks):
        downsample = None
        if self.inplanes != planes:
            downsample = nn.Sequential(MEConv(self.inplanes, planes, 1), MEBatchNorm(planes))
        mods = [BasicBlock(self.inplanes, planes, downsample)]
        self.inplanes = planes
        mods += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)


class DisNet(nn.Module):
    def __init__(self, net3d):
        super().__init__()
        self.net3d = net3d


def read_safetensors(path):
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    dt = {"F32": np.float32, "I64": np.int64, "F64": np.float64, "I32": np.int32}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=dt[v["dtype"]]).reshape(v["shape"])
    return out


def tool():
    for c in (os.environ.get("OV3D_TOOL"), ROOT / ".build/release/ov3d-tool", ROOT / ".build/debug/ov3d-tool"):
        if c and Path(c).exists():
            return str(c)
    sys.exit("ov3d-tool not found: swift build --product ov3d-tool, or set OV3D_TOOL")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="18A", choices=sorted(ARCHS))
    ap.add_argument("--final-bias", action="store_true")
    ap.add_argument("--dim", type=int, default=512)
    args = ap.parse_args()
    layers, planes = ARCHS[args.arch]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        coords = np.unique(rng.integers(0, 24, size=(600, 3)), axis=0).astype(np.int32)
        np.save(d / "c.npy", coords)
        np.save(d / "t.npy", rng.standard_normal((len(coords), args.dim)).astype(np.float32))
        for prefix, name in (("", "bare.pth"), ("net3d.", "disnet.pth")):
            cfg = {"model": {"architecture": "MinkUNet" + args.arch, "in_channels": 3, "heads": {"final": args.dim},
                             "final_bias": args.final_bias},
                   "data": {"scenes": [{"coords": "c.npy", "targets": {"final": "t.npy"}}], "batch_size": 1},
                   "loss": {"final": {"type": "cosine"}}, "optimizer": {"type": "adam", "lr": 1e-3},
                   "steps": 1, "seed": 3, "threads": 1, "out": "out.safetensors", "export_pth": name,
                   "export_pth_prefix": prefix}
            (d / "run.json").write_text(json.dumps(cfg))
            p = subprocess.run([tool(), "train", "--config", str(d / "run.json")], capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"ov3d train failed ({p.returncode}):\n{p.stderr}")
            sd = torch.load(d / name, weights_only=True)
            print(f"torch {torch.__version__}: torch.load({name!r}, weights_only=True) -> {type(sd).__module__}.{type(sd).__name__} "
                  f"with {len(sd)} tensors")
            assert isinstance(sd, collections.OrderedDict)
            net = MinkUNet(layers, planes, out_ch=args.dim, final_bias=args.final_bias)
            model = DisNet(net) if prefix else net
            res = model.load_state_dict(sd, strict=True)
            print(f"  {'DisNet (net3d.)' if prefix else 'MinkUNet' + args.arch}.load_state_dict(strict=True): {res}")
            ref = read_safetensors(d / "out.safetensors")
            same = 0
            for k, v in sd.items():
                r = ref[k[len(prefix):]]
                a = v.numpy()
                assert a.dtype == r.dtype and a.size == r.size, (k, a.dtype, r.dtype, a.shape, r.shape)
                assert a.tobytes() == r.tobytes(), k
                same += 1
            nbt = [k for k in sd if k.endswith("num_batches_tracked")]
            assert all(sd[k].dtype == torch.int64 and sd[k].shape == () and int(sd[k]) == 1 for k in nbt)
            print(f"  {same} tensors bit-identical to out.safetensors; {len(nbt)} num_batches_tracked int64 scalars = 1")


if __name__ == "__main__":
    main()
