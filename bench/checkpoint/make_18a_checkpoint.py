#!/usr/bin/env python3
"""Writes a full-size OpenScene MinkUNet18A checkpoint (289 tensors, 15.55 M floats, ~62 MB; with
--optimizer also Adam state, ~187 MB) with the REAL torch.save, for bench/checkpoint/run.sh.
Not committed: write it to a temporary directory.

    python3 -m venv .venv-tools && . .venv-tools/bin/activate
    pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu && pip install numpy
    python bench/checkpoint/make_18a_checkpoint.py OUT.pth.tar [--optimizer]
"""
import argparse, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import numpy as np
import torch

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--optimizer", action="store_true")
a = ap.parse_args()

import importlib.util
spec = importlib.util.spec_from_file_location("fx", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "make_checkpoint_fixtures.py"))
# Reuse the key/shape enumeration without running the fixture writer: read the function source.
src = open(spec.origin).read()
ns = {"torch": torch}
start = src.index("PLANES = ")
end = src.index("def expected_st(")
exec("SHRINK = 1\n" + src[start:end], ns)
specs = ns["minkunet18a_shapes"]([("final", 512)])
assert len(specs) == 289
model = ns["build_module"](specs)
outer = torch.nn.Module(); outer.add_module("net3d", model)
sd = outer.state_dict()
n = sum(t.numel() for k, t in sd.items() if not k.endswith("num_batches_tracked"))
ck = {"epoch": 100, "state_dict": sd, "best_iou": np.float64(0.5)}
if a.optimizer:
    ck["optimizer"] = ns.get("adam_state", None)(outer) if "adam_state" in ns else None
torch.save(ck, a.out)
print(f"wrote {a.out}: {len(sd)} tensors, {n} floats, {os.path.getsize(a.out)} bytes")
