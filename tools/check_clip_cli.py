#!/usr/bin/env python3
"""Compares `ov3d tokenize` and `ov3d embed-text` from the outside with open_clip and transformers.

Run (venv of tools/make_clip_fixtures.py; bin/ov3d from `make build`, or any ov3d-tool binary):
    python tools/check_clip_cli.py --ov3d bin/ov3d --vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz

Uses the corpus and the tiny Hugging Face model of Tests/Fixtures/text (embed-text has no
--heads option, and the tiny open_clip model's 2 heads differ from width/64; the Swift tests cover
that layout). Exit status 0 when tokens are equal and embeddings agree within 1e-5 relative.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "Tests", "Fixtures", "text")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ov3d", required=True)
    ap.add_argument("--vocab", required=True)
    args = ap.parse_args()
    import transformers
    from open_clip.tokenizer import SimpleTokenizer

    texts = json.load(open(os.path.join(FIX, "corpus.json"), encoding="utf-8"))["texts"]
    texts = [t for t in texts if t and not t.startswith("-")]
    tok = SimpleTokenizer(bpe_path=args.vocab)
    ref = tok(texts, context_length=77).tolist()
    out = subprocess.run([args.ov3d, "tokenize", "--vocab", args.vocab, "--json", "--"] + texts,
                         check=True, capture_output=True, text=True).stdout
    got = [json.loads(l) for l in out.splitlines()]
    bad = sum(1 for a, b in zip(got, ref) if a != b)
    print(f"tokenize: {len(texts)} texts, {bad} differ from open_clip")

    hf = transformers.CLIPTextModelWithProjection.from_pretrained(os.path.join(FIX, "hf_tiny"), dtype=torch.float32).eval()
    with torch.no_grad():
        for template, norm in [(None, True), ("a {} in a scene", False)]:
            prompts = [template.format(t) if template else t for t in texts]
            e = hf(input_ids=tok(prompts, context_length=77)).text_embeds
            if norm:
                e = e / e.norm(dim=-1, keepdim=True)
            with tempfile.TemporaryDirectory() as d:
                o = os.path.join(d, "e.npy")
                cmd = [args.ov3d, "embed-text", "--weights", os.path.join(FIX, "hf_tiny"), "--vocab", args.vocab, "--out", o]
                cmd += ["--template", template] if template else ["--no-template"]   # default: OpenScene's prompt
                if not norm:
                    cmd += ["--no-normalize"]
                subprocess.run(cmd + ["--"] + texts, check=True)
                g = np.load(o)
            rel = (np.abs(g - e.numpy()).max(axis=1) / np.abs(e.numpy()).max(axis=1)).max()
            print(f"embed-text template={template!r} normalize={norm}: shape {g.shape}, max rel err {rel:.2e} vs transformers")
            bad += int(rel > 1e-5)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
