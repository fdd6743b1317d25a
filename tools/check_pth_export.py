#!/usr/bin/env python3
"""Shows that ov3d's `.pth` export (`ov3d train ... "export_pth"`) is what PyTorch and OpenScene expect:
`torch.load(path, weights_only=True)` reads it as an OrderedDict, and a plain-torch module tree with
OpenScene's MinkUNet names and MinkowskiEngine's parameter layouts (`kernel` [k³, in, out] / [in, out],
`bias` [1, out], BatchNorm1d under `.bn`; written from ../shared/reference/minkunet.md §1-§5) accepts it
with `load_state_dict(strict=True)` — bare (MinkUNet18A) and with the `net3d.` prefix (OpenScene's
DisNet). Every exported tensor equals the `out` safetensors bit for bit.

Run (the tool built: swift build --product ov3d-tool; torch pinned):
    .venv-tools/bin/pip install torch==2.13.0+cpu numpy
    OV3D_TOOL=.build/debug/ov3d-tool .venv-tools/bin/python tools/check_pth_export.py [--arch 18A] [--final-bias]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from minkunet_common import ARCHS  # noqa: E402
from minkunet_fixture import read_safetensors  # noqa: E402
# the one plain-torch module tree with OpenScene's names (the PyTorch training reference's)
from training_reference import DisNet, MinkUNet, arch_of  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def module_tree(arch, dim, final_bias, prefix):
    """MinkUNet<arch> with a `final` head of `dim`, bare or inside DisNet (`net3d.` keys)."""
    a = arch_of("MinkUNet" + arch, {"final": dim})
    return DisNet(a, final_bias) if prefix else MinkUNet(a, final_bias)


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
            model = module_tree(args.arch, args.dim, args.final_bias, prefix)
            res = model.load_state_dict(sd, strict=True)
            print(f"  {'DisNet (net3d.)' if prefix else 'MinkUNet' + args.arch}.load_state_dict(strict=True): {res}")
            ref, _ = read_safetensors(d / "out.safetensors")
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
