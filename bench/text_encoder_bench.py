#!/usr/bin/env python3
"""Benchmark: encode the 20 ScanNet prompts with a full-size ViT-B/32-shaped CLIP text tower
(random weights), ov3d (libov3d.so through ctypes) beside PyTorch/open_clip, same process,
same thread count. Also checks that both give the same embeddings.

Run (release library, the tools venv of tools/make_clip_fixtures.py):
    swift build -c release --product ov3d
    nice python bench/text_encoder_bench.py --lib .build/release/libov3d.so \
        --vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz [--threads 1 2] [--repeat 30]

The random model (open_clip 'ViT-B-32-quickgelu' text tower: width 512, 8 heads, 12 layers,
embed 512) is written to a temporary directory as a torch.save state dict and deleted afterwards.

Two PyTorch timings are reported: `encode_text` on the padded [20, 77] token batch (what
open_clip/OpenScene run) and on the batch cut to its longest prompt (the causal mask makes the
result identical; ov3d does the equivalent per prompt).
"""
import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

SCANNET = ["wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf", "picture",
           "counter", "desk", "curtain", "refrigerator", "shower curtain", "toilet", "sink", "bathtub", "other"]


class EncodeParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("n_threads", ctypes.c_int32), ("normalize", ctypes.c_int32),
                ("round_fp16", ctypes.c_int32), ("prompt_template", ctypes.c_char_p), ("use_cache", ctypes.c_int32)]


def timeit(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    import open_clip
    from open_clip.tokenizer import SimpleTokenizer

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None).eval()
    prompts = [f"a {n} in a scene" for n in SCANNET]
    prompts[-1] = "other"
    tok = SimpleTokenizer(bpe_path=args.vocab)
    tokens = tok(prompts, context_length=77)
    cut = int((tokens.argmax(dim=-1)).max()) + 1
    tokens_cut = tokens[:, :cut]

    lib = ctypes.CDLL(args.lib)
    lib.ov3d_last_error.restype = ctypes.c_char_p
    lib.ov3d_text_encode_default_params.restype = EncodeParams

    def check(status):
        if status != 0:
            raise SystemExit(f"ov3d error {status}: {lib.ov3d_last_error().decode()}")

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "vit_b32_text_random.pt")
        sd = {k: v for k, v in model.state_dict().items() if not k.startswith("visual.")}
        torch.save(sd, path)
        enc = ctypes.c_void_p()
        t0 = time.perf_counter()
        check(lib.ov3d_text_encoder_load(path.encode(), args.vocab.encode(), None, ctypes.byref(enc)))
        load_s = time.perf_counter() - t0
    dim = ctypes.c_size_t()
    check(lib.ov3d_text_encoder_dim(enc, ctypes.byref(dim)))
    n = len(prompts)
    arr = (ctypes.c_char_p * n)(*[p.encode() for p in prompts])
    out = np.zeros((n, dim.value), dtype=np.float32)
    outp = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

    print(f"torch {torch.__version__}, open_clip {open_clip.__version__}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(f"model: ViT-B/32 text tower (random), width 512, 12 layers, dim {dim.value}; ov3d load {load_s:.2f} s")
    print(f"batch: {n} ScanNet prompts, longest {cut} tokens of 77")
    for th in args.threads:
        torch.set_num_threads(th)
        p = lib.ov3d_text_encode_default_params()
        p.n_threads = th
        p.normalize = 0
        p.use_cache = 0

        def run_ov3d():
            check(lib.ov3d_text_encode(enc, arr, n, ctypes.byref(p), outp, out.size))

        def run_torch():
            with torch.inference_mode():
                return model.encode_text(tokens)

        def run_torch_cut():
            # open_clip's encode_text on the cut batch (positional embedding and mask cut to match)
            with torch.inference_mode():
                x = model.token_embedding(tokens_cut) + model.positional_embedding[:cut]
                x = model.transformer(x, attn_mask=model.attn_mask[:cut, :cut])
                x = model.ln_final(x)
                x = x[torch.arange(x.shape[0]), tokens_cut.argmax(dim=-1)]
                return x @ model.text_projection

        # tokenisation is part of ov3d's call; include it for PyTorch too
        def run_torch_full():
            with torch.inference_mode():
                return model.encode_text(tok(prompts, context_length=77))

        o_med, o_min = timeit(run_ov3d, args.repeat)
        t_med, t_min = timeit(run_torch_full, args.repeat)
        c_med, c_min = timeit(run_torch_cut, args.repeat)
        ref = run_torch().numpy()
        rel = np.abs(out - ref).max() / np.abs(ref).max()
        rel_cut = np.abs(run_torch_cut().numpy() - ref).max() / np.abs(ref).max()
        print(f"threads={th}: ov3d {o_med * 1e3:.2f} ms (min {o_min * 1e3:.2f})  "
              f"torch tokenize+encode_text[20,77] {t_med * 1e3:.2f} ms (min {t_min * 1e3:.2f})  "
              f"torch encode_text[20,{cut}] {c_med * 1e3:.2f} ms (min {c_min * 1e3:.2f})  "
              f"speed-up vs torch {t_med / o_med:.2f}x, vs torch cut {c_med / o_med:.2f}x  "
              f"max rel diff ov3d {rel:.2e} (torch cut vs full {rel_cut:.2e})")
    lib.ov3d_text_encoder_free(enc)


if __name__ == "__main__":
    sys.exit(main())
