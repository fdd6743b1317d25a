#!/usr/bin/env python3
"""A tiny OpenAI CLIP TorchScript archive (the kind `clip.load` reads: ViT-B-32.pt,
ViT-L-14-336px.pt) and PyTorch's embeddings of it, for ov3d's TorchScript reader
(Tests/Fixtures/text/).

How to run (from the package root; CI never runs this):

    python3 -m venv .venv-tools
    .venv-tools/bin/pip install torch==2.13.0+cpu numpy==2.4.6        # pin torch: else a CUDA build
    .venv-tools/bin/pip install openai-clip==1.0.1 ftfy==6.3.1 regex==2026.11.15 tqdm
    .venv-tools/bin/python tools/make_clip_torchscript_fixture.py

`openai-clip` 1.0.1 is OpenAI's own `clip` package (clip/model.py, clip/clip.py) on PyPI. The
script builds OpenAI's `clip.model.CLIP` with tiny widths, converts it to fp16 with their
`convert_weights` (the released archives hold fp16 weights), and exports it the way the released
files were made: `torch.jit.trace_module` of `forward`, `encode_image` and `encode_text`, then
`torch.jit.save` (a zip with data.pkl naming `__torch__.clip.model.CLIP` and friends,
constants.pkl, code/ and data/). The reference embeddings come from OpenAI's loader:
`clip.load(archive, device="cpu", jit=True)` (which patches the traced graph to float32 on CPU)
then `encode_text(clip.tokenize(texts))`.

Model: ViT vision tower (16 px images, patch 8, width 64, 1 layer, 1 head), text tower width 4,
1 head (OpenAI's rule: heads = width / 64, at least one), 2 layers, context 77, the real
vocabulary size 49408 (so real token ids work), embed_dim 12. Weights: OpenAI's initialisation
plus seeded noise on every parameter (so LayerNorms are not identity), seed 0.

Writes:
  openai_clip_tiny_jit.pt              the TorchScript archive (~1 MB: the float32 token embedding, as
                                       in the released files, dominates)
  openai_clip_tiny_jit_tokens.npy      int32 [N, 77] clip.tokenize(TEXTS)
  openai_clip_tiny_jit_embeddings.npy  float32 [N, 12] encode_text (not normalised)
  openai_clip_tiny_jit.json            texts, versions, max |jit - eager float32| difference
  malicious_torchscript_*.pt           hostile TorchScript archives (constants.pkl + code/ like a
                                       real one; data.pkl names os.system / calls a class / ...)
"""
import io
import json
import os
import pickle
import zipfile

import re
import sys
import types

import numpy as np
import torch


def _pkg_resources_shim():
    """clip 1.0.1 does `from pkg_resources import packaging` only to compare torch versions;
    setuptools >= 81 no longer ships pkg_resources. Give it that one function (numeric parts)."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        def parse(v):
            return tuple(int(x) for x in re.findall(r"\d+", v.split("+")[0])[:3])
        ver = types.SimpleNamespace(parse=parse)
        sys.modules["pkg_resources"] = types.SimpleNamespace(packaging=types.SimpleNamespace(version=ver))


def _image_stack_stubs():
    """clip.clip imports PIL and torchvision only for its image preprocessing (`_transform`),
    which this script never calls (no images are encoded). torchvision wheels on PyPI are built
    for CUDA torch, so instead of installing one beside torch 2.13.0+cpu, stand-ins for the
    names clip.clip imports are registered when the real packages are absent."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        pil = types.ModuleType("PIL")
        pil.Image = types.SimpleNamespace(BICUBIC=3)
        sys.modules["PIL"], sys.modules["PIL.Image"] = pil, pil.Image
    try:
        import torchvision.transforms  # noqa: F401
    except ImportError:
        def refuse(*a, **k):
            raise RuntimeError("image preprocessing is not available in this fixture script")

        def unused(*a, **k):                   # built by clip.load's _transform, never applied
            return refuse
        tv = types.ModuleType("torchvision")
        tv.transforms = types.ModuleType("torchvision.transforms")
        for name in ["Compose", "Resize", "CenterCrop", "ToTensor", "Normalize"]:
            setattr(tv.transforms, name, unused)
        tv.transforms.InterpolationMode = types.SimpleNamespace(BICUBIC=3)
        sys.modules["torchvision"], sys.modules["torchvision.transforms"] = tv, tv.transforms


def _node_subscript_shim():
    """clip 1.0.1's jit loader reads graph constants as `node["value"]`; torch >= 2.1 dropped
    `Node.__getitem__`. Give it back the same lookup (OpenAI's later `_node_get`), so
    `clip.load(..., jit=True)` runs its own device/float patching unchanged."""
    if not hasattr(torch._C.Node, "__getitem__"):
        torch._C.Node.__getitem__ = lambda node, key: getattr(node, node.kindOf(key))(key)


_pkg_resources_shim()
_image_stack_stubs()
_node_subscript_shim()
import clip  # noqa: E402
from clip.model import CLIP, convert_weights  # noqa: E402

TEXTS = [
    "a chair in a scene",
    "a wall in a scene",
    "a fire extinguisher in a scene",
    "a shower curtain in a scene",
    "other",
    "refrigerator",
    "",
    "Hello, World!!! it's a dog's life",
]

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "text")


def build_model():
    torch.manual_seed(0)
    model = CLIP(embed_dim=12, image_resolution=16, vision_layers=1, vision_width=64, vision_patch_size=8,
                 context_length=77, vocab_size=49408, transformer_width=4, transformer_heads=1,
                 transformer_layers=2)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    # The released archives carry these three as scalar buffers (clip.load reads
    # model.input_resolution.item(); build_model deletes the three keys from the state dict).
    for name, value in [("input_resolution", 16), ("context_length", 77), ("vocab_size", 49408)]:
        if hasattr(model, name):
            delattr(model, name)           # plain ints on the eager class (used at construction only)
        model.register_buffer(name, torch.tensor(value))
    model.eval()
    return model


def export(model, path):
    convert_weights(model)                     # fp16 weights, as OpenAI released them
    text = clip.tokenize(TEXTS)
    image = torch.randn(2, 3, 16, 16).half()
    try:
        traced = torch.jit.trace_module(model, {"forward": (image, text[:2]), "encode_image": (image,),
                                                "encode_text": (text,)}, check_trace=False)
    except RuntimeError as e:                  # an fp16 op without a CPU kernel: trace in fp32, then half
        print("fp16 trace on CPU failed (%s); tracing in float32 and converting" % str(e).splitlines()[0])
        model.float()
        traced = torch.jit.trace_module(model, {"forward": (image.float(), text[:2]), "encode_image": (image.float(),),
                                                "encode_text": (text,)}, check_trace=False)
        traced.half()
    torch.jit.save(traced, path)


def hostile_archives():
    """TorchScript-shaped archives (constants.pkl, code/__torch__) whose data.pkl tries to run code."""
    P = pickle
    def g(module, name):
        return P.GLOBAL + module.encode() + b"\n" + name.encode() + b"\n"
    touch = P.BINUNICODE + len(b"touch /tmp/ov3d_pwned").to_bytes(4, "little") + b"touch /tmp/ov3d_pwned"
    cases = {
        # an object attribute that is os.system("touch ...") via REDUCE
        "os_system_attribute": P.PROTO + b"\x02" + g("__torch__.clip.model", "CLIP") + P.EMPTY_TUPLE + P.NEWOBJ
            + P.EMPTY_DICT + P.MARK + P.BINUNICODE + (4).to_bytes(4, "little") + b"evil"
            + g("posix", "system") + touch + P.TUPLE1 + P.REDUCE + P.SETITEMS + P.BUILD + P.STOP,
        # NEWOBJ of os.system itself (not a __torch__ class)
        "newobj_os_system": P.PROTO + b"\x02" + g("os", "system") + touch + P.TUPLE1 + P.NEWOBJ + P.STOP,
        # calling a __torch__ class with REDUCE (construction with arguments)
        "reduce_torch_class": P.PROTO + b"\x02" + g("__torch__.clip.model", "CLIP") + touch + P.TUPLE1 + P.REDUCE + P.STOP,
        # a class name that smuggles a module path outside __torch__
        "torch_prefix_trick": P.PROTO + b"\x02" + g("__torch__", "os.system") + P.EMPTY_TUPLE + P.NEWOBJ + P.STOP,
        # builtins.eval via STACK_GLOBAL
        "stack_global_eval": P.PROTO + b"\x04" + P.SHORT_BINUNICODE + b"\x08builtins" + P.SHORT_BINUNICODE + b"\x04eval"
            + P.STACK_GLOBAL + touch + P.TUPLE1 + P.REDUCE + P.STOP,
    }
    for name, pkl in cases.items():
        with zipfile.ZipFile(os.path.join(OUT, "malicious_torchscript_%s.pt" % name), "w", zipfile.ZIP_STORED) as z:
            z.writestr("evil/data.pkl", pkl)
            z.writestr("evil/constants.pkl", P.PROTO + b"\x02" + P.EMPTY_TUPLE + P.STOP)
            z.writestr("evil/code/__torch__/clip/model.py", "class CLIP(Module):\n  pass\n")
            z.writestr("evil/version", "3\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "openai_clip_tiny_jit.pt")
    model = build_model()
    export(model, path)

    # Reference: OpenAI's loader on the archive (jit=True: the traced graph, patched to float32 on CPU).
    jit_model, _ = clip.load(path, device="cpu", jit=True)
    tokens = clip.tokenize(TEXTS)
    with torch.no_grad():
        ref = jit_model.encode_text(tokens).float().numpy()
        # Cross-check with the eager module in float32 from the same fp16-rounded weights.
        eager = build_model()
        convert_weights(eager)
        eager.float()
        eager_out = eager.encode_text(tokens).float().numpy()
    diff = float(np.abs(ref - eager_out).max())
    print("max |jit - eager float32| = %.3g" % diff)
    assert diff < 1e-5, diff

    np.save(os.path.join(OUT, "openai_clip_tiny_jit_tokens.npy"), tokens.numpy().astype(np.int32))
    np.save(os.path.join(OUT, "openai_clip_tiny_jit_embeddings.npy"), ref.astype(np.float32))
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    import importlib.metadata as md
    info = {
        "texts": TEXTS,
        "jit_vs_eager_max_abs_diff": diff,
        "archive_entries": sorted(n for n in names if not n.split("/")[-1].isdigit()),
        "versions": {k: md.version(k) for k in ["torch", "numpy", "openai-clip", "ftfy", "regex"]},
    }
    with open(os.path.join(OUT, "openai_clip_tiny_jit.json"), "w") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
    hostile_archives()
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
