#!/usr/bin/env python3
"""Golden fixtures for the checkpoint readers (Tests/Fixtures/checkpoint/), written by the REAL torch.save.

How to run (pinned versions; CPU wheel so no CUDA download):
    python3 -m venv .venv-tools && . .venv-tools/bin/activate
    pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu
    pip install numpy==2.4.6 safetensors==0.8.0
    python tools/make_checkpoint_fixtures.py            # writes Tests/Fixtures/checkpoint/
(The committed files were produced with the torch/numpy/safetensors versions recorded in
 Tests/Fixtures/checkpoint/expected.json -> "generator".)

What it writes (all small; the 18A trunk keeps the real key names and kernel volumes but its channel
widths are divided by 16 so the files stay < 2 MB; head output dims are the real 512/1024/3200):
  openscene18a_module.pth.tar  {'epoch','state_dict' (module.net3d.*),'optimizer' (real Adam state),'best_iou' (numpy.float64)}
  openscene18a_net3d.pth       plain OrderedDict state dict with net3d.* keys (from a real nn.Module: has _metadata)
  cua_o3d.pth.tar              CUA-O3D-style: net3d.* trunk + final/final_dinov2/final_sd heads, epoch, best_iou
  cua_awl.pth.tar              CUA-O3D uncertainty weights: state_dict {'params': [3]} + optimizer, epoch, best_iou
  dtypes_views.pth             float16/bfloat16/float64/int64/int32/uint8/bool tensors, a transposed (non-contiguous)
                               view, slices sharing one storage with offsets, an nn.Parameter, an expanded (stride 0) view
  dtypes_views_deflated.pth    dtypes_views.pth re-zipped with DEFLATE (zipfile), same expected values
  legacy.pth                   the same small dict saved with _use_new_zipfile_serialization=False (pre-1.6 format)
  *.expected.safetensors       the same tensors, contiguous, written by the `safetensors` package (bit-exact reference)
  expected.json                non-tensor values (epoch, best_iou, key lists) and generator versions
  malicious_*.pkl / .pth       hand-crafted hostile pickles (os.system via REDUCE, STACK_GLOBAL eval, INST, ...);
                               none is ever unpickled here.
"""
import collections, io, json, os, pickle, struct, sys, zipfile

import numpy as np
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "checkpoint")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1463)
SHRINK = 16

PLANES = [32, 64, 128, 256, 128, 128, 96, 96]


def p(c):
    return max(1, c // SHRINK)


def minkunet18a_shapes(heads):
    """(key, shape, kind) in registration order for MinkUNet18A (minkunet.md §5.3), widths / SHRINK."""
    out = []

    def conv(name, shape):
        out.append((name + ".kernel", shape, "param"))

    def bn(name, c):
        out.append((name + ".bn.weight", [c], "param"))
        out.append((name + ".bn.bias", [c], "param"))
        out.append((name + ".bn.running_mean", [c], "buffer"))
        out.append((name + ".bn.running_var", [c], "buffer"))
        out.append((name + ".bn.num_batches_tracked", [], "count"))

    def block(i, cin, cout):
        for j in range(2):
            a = cin if j == 0 else cout
            conv(f"block{i}.{j}.conv1", [27, a, cout]); bn(f"block{i}.{j}.norm1", cout)
            conv(f"block{i}.{j}.conv2", [27, cout, cout]); bn(f"block{i}.{j}.norm2", cout)
            if j == 0 and a != cout:
                conv(f"block{i}.0.downsample.0", [a, cout]); bn(f"block{i}.0.downsample.1", cout)

    P = [p(c) for c in PLANES]
    c0 = p(32)
    conv("conv0p1s1", [125, 3, c0]); bn("bn0", c0)
    conv("conv1p1s2", [8, c0, c0]); bn("bn1", c0)
    block(1, c0, P[0])
    conv("conv2p2s2", [8, P[0], P[0]]); bn("bn2", P[0])
    block(2, P[0], P[1])
    conv("conv3p4s2", [8, P[1], P[1]]); bn("bn3", P[1])
    block(3, P[1], P[2])
    conv("conv4p8s2", [8, P[2], P[2]]); bn("bn4", P[2])
    block(4, P[2], P[3])
    conv("convtr4p16s2", [8, P[3], P[4]]); bn("bntr4", P[4])
    block(5, P[4] + P[2], P[4])
    conv("convtr5p8s2", [8, P[4], P[5]]); bn("bntr5", P[5])
    block(6, P[5] + P[1], P[5])
    conv("convtr6p4s2", [8, P[5], P[6]]); bn("bntr6", P[6])
    block(7, P[6] + P[0], P[6])
    conv("convtr7p2s2", [8, P[6], P[7]]); bn("bntr7", P[7])
    block(8, P[7] + c0, P[7])
    for h, d in heads:
        conv(h, [P[7], d])
    return out


def build_module(specs):
    """A real nn.Module tree whose state_dict() has exactly these keys (so the pickle is what torch writes)."""
    root = torch.nn.Module()
    for key, shape, kind in specs:
        parts = key.split(".")
        m = root
        for part in parts[:-1]:
            if not hasattr(m, part) or not isinstance(getattr(m, part), torch.nn.Module):
                m.add_module(part, torch.nn.Module())
            m = getattr(m, part)
        leaf = parts[-1]
        if kind == "param":
            t = torch.randn(*shape) * 0.1
            if leaf == "weight":
                t = 1.0 + t
            m.register_parameter(leaf, torch.nn.Parameter(t))
        elif kind == "buffer":
            t = torch.rand(*shape) + (0.5 if leaf == "running_var" else -0.5)
            m.register_buffer(leaf, t)
        else:
            m.register_buffer(leaf, torch.tensor(int(torch.randint(0, 100000, ()).item()), dtype=torch.long))
    return root


def wrap(name, inner):
    outer = torch.nn.Module()
    outer.add_module(name, inner)
    return outer


def adam_state(model):
    params = [q for q in model.parameters()]
    opt = torch.optim.Adam(params, lr=1e-4)
    for q in params:
        q.grad = torch.randn_like(q) * 1e-3
    opt.step()
    return opt.state_dict()


def expected_st(sd, path):
    save_file({k: v.detach().contiguous().clone() for k, v in sd.items()}, path)


expected = {"generator": {"torch": torch.__version__, "numpy": np.__version__,
                          "safetensors": __import__("safetensors").__version__, "python": sys.version.split()[0]}}

# 1. OpenScene 18A, DDP-wrapped (module.net3d.), in a .pth.tar dict with optimizer state and numpy best_iou.
specs = minkunet18a_shapes([("final", 512)])
assert len(specs) == 289, len(specs)
disnet = wrap("net3d", build_module(specs))
ddp = wrap("module", disnet)
sd = ddp.state_dict()
ckpt = {"epoch": 37, "state_dict": sd, "optimizer": adam_state(ddp), "best_iou": np.float64(0.4712345678901234)}
torch.save(ckpt, os.path.join(OUT, "openscene18a_module.pth.tar"))
expected_st(sd, os.path.join(OUT, "openscene18a_module.expected.safetensors"))
expected["openscene18a_module.pth.tar"] = {"epoch": 37, "best_iou": 0.4712345678901234, "count": len(sd),
                                           "first_key": next(iter(sd)), "keys": list(sd.keys())}

# 2. Plain state dict with net3d. keys (as ScanNet checkpoints are loaded with strict=True).
disnet2 = wrap("net3d", build_module(specs))
sd2 = disnet2.state_dict()
torch.save(sd2, os.path.join(OUT, "openscene18a_net3d.pth"))
expected_st(sd2, os.path.join(OUT, "openscene18a_net3d.expected.safetensors"))
expected["openscene18a_net3d.pth"] = {"count": len(sd2)}

# 3. CUA-O3D: three heads on the same trunk (registration order final, final_dinov2, final_sd).
cua_specs = minkunet18a_shapes([("final", 512), ("final_dinov2", 1024), ("final_sd", 3200)])
assert len(cua_specs) == 291
cua = wrap("net3d", build_module(cua_specs))
cua_sd = cua.state_dict()
torch.save({"epoch": 50, "state_dict": cua_sd, "best_iou": np.float64(0.5234)}, os.path.join(OUT, "cua_o3d.pth.tar"))
expected_st(cua_sd, os.path.join(OUT, "cua_o3d.expected.safetensors"))
expected["cua_o3d.pth.tar"] = {"epoch": 50, "best_iou": 0.5234, "count": len(cua_sd)}

# 4. CUA-O3D AutomaticWeightedLoss: one parameter vector 'params' [3] (LSeg, DINOv2, SD), trained from 1.0.
awl = torch.nn.Module()
awl.params = torch.nn.Parameter(torch.tensor([0.8123, 1.3377, 0.9001]))
awl_sd = awl.state_dict()
torch.save({"epoch": 50, "state_dict": awl_sd, "optimizer": adam_state(awl), "best_iou": np.float64(0.5234)},
           os.path.join(OUT, "cua_awl.pth.tar"))
expected_st(awl_sd, os.path.join(OUT, "cua_awl.expected.safetensors"))
expected["cua_awl.pth.tar"] = {"params": [float(x) for x in awl.params.detach()]}

# 5. dtypes, views, shared storages, parameters.
base = torch.randn(6, 5)
shared = torch.arange(40, dtype=torch.float32)
mixed = collections.OrderedDict()
mixed["f32"] = torch.randn(3, 4)
mixed["f16"] = torch.randn(4, 3).half()
mixed["bf16"] = torch.randn(5).bfloat16()
mixed["f64"] = torch.randn(2, 2, 2).double()
mixed["i64"] = torch.tensor([-(2 ** 40), -1, 0, 7, 2 ** 62], dtype=torch.int64)
mixed["i32"] = torch.tensor([[-5, 6], [2 ** 31 - 1, -(2 ** 31)]], dtype=torch.int32)
mixed["u8"] = torch.tensor([0, 1, 254, 255], dtype=torch.uint8)
mixed["bool"] = torch.tensor([True, False, True])
mixed["scalar"] = torch.tensor(3.5)
mixed["empty"] = torch.zeros(0, 4)
mixed["transposed"] = base.t()                       # non-contiguous view of base's storage
mixed["base"] = base                                 # shares storage with 'transposed'
mixed["slice_a"] = shared[3:11].view(2, 4)           # storage offset 3
mixed["slice_b"] = shared[20:40:2]                   # offset 20, stride 2 (non-contiguous)
mixed["column"] = base[:, 2]                         # offset 2, stride 5
mixed["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(4, 3)   # stride 0
mixed["f16_t"] = torch.randn(3, 5).half().t()        # non-contiguous float16
mixed["param"] = torch.nn.Parameter(torch.randn(2, 3))           # _rebuild_parameter
with_attr = torch.randn(2, 2)
with_attr.note = "python attribute"                                 # _rebuild_from_type_v2
mixed["with_attr"] = with_attr
torch.save(mixed, os.path.join(OUT, "dtypes_views.pth"))
save_file({k: v.detach().contiguous().clone() for k, v in mixed.items()},
          os.path.join(OUT, "dtypes_views.expected.safetensors"))
expected["dtypes_views.pth"] = {"keys": list(mixed.keys())}

# 6. Legacy (pre-1.6) serialization of a small state dict.
legacy = collections.OrderedDict([("net3d.final.kernel", torch.randn(4, 8)), ("h", torch.randn(3).half()),
                                  ("t", base.t()), ("n", torch.tensor(12, dtype=torch.long))])
torch.save({"epoch": 3, "state_dict": legacy}, os.path.join(OUT, "legacy.pth"), _use_new_zipfile_serialization=False)
save_file({k: v.contiguous().clone() for k, v in legacy.items()}, os.path.join(OUT, "legacy.expected.safetensors"))

# 6b. The dtypes file re-packed with DEFLATE (torch writes STORED; other zip tools may not).
with zipfile.ZipFile(os.path.join(OUT, "dtypes_views.pth")) as src, \
        zipfile.ZipFile(os.path.join(OUT, "dtypes_views_deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))

# 7. Hostile pickles, crafted by hand (never unpickled here).
class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ov3d_pwned",))

evil_p2 = pickle.dumps({"state_dict": Evil()}, protocol=2)       # GLOBAL posix.system + REDUCE
assert b"system" in evil_p2
with open(os.path.join(OUT, "malicious_os_system.pkl"), "wb") as f:
    f.write(evil_p2)
# the same inside a torch-style zip archive (data.pkl), as a .pth
with zipfile.ZipFile(os.path.join(OUT, "malicious_os_system.pth"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", evil_p2)
    z.writestr("archive/version", "3\n")
# protocol 4 STACK_GLOBAL builtins.eval
stack_global = (b"\x80\x04" + b"\x8c\x08builtins" + b"\x8c\x04eval" + b"\x93" +
                b"\x8c\x0f__import__('os')" + b"\x85" + b"R" + b".")
with open(os.path.join(OUT, "malicious_eval_stack_global.pkl"), "wb") as f:
    f.write(stack_global)
# protocol 0 INST subprocess Popen
with open(os.path.join(OUT, "malicious_inst.pkl"), "wb") as f:
    f.write(b"(S'ls'\nisubprocess\nPopen\n.")
# a torch global that is not a rebuild function: torch.load
with open(os.path.join(OUT, "malicious_torch_load.pkl"), "wb") as f:
    f.write(b"\x80\x02ctorch\nload\nq\x00X\x03\x00\x00\x00x.ptq\x01\x85q\x02Rq\x03.")
# OrderedDict is allowed, but its BUILD must not reach __setstate__ of an arbitrary object:
with open(os.path.join(OUT, "malicious_nested_global.pkl"), "wb") as f:
    f.write(b"\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00acos\nsystem\nsb.")

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)

total = 0
for n in sorted(os.listdir(OUT)):
    s = os.path.getsize(os.path.join(OUT, n)); total += s
    print(f"{s:>10}  {n}")
print(f"{total:>10}  total")
