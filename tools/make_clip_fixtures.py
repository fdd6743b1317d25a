#!/usr/bin/env python3
"""Golden fixtures for ov3d's CLIP tokenizer and text encoder (Tests/Fixtures/text/).

How to run (from the package root; needs the real CLIP BPE vocabulary, which is NOT shipped):

    python3 -m venv .venv-tools && . .venv-tools/bin/activate
    pip install --index-url https://download.pytorch.org/whl/cpu torch==2.15.0   # pin it: else a CUDA build
    pip install open_clip_torch==3.3.0 transformers==5.23.0 safetensors==0.8.0 ftfy==6.3.1 \
                regex==2026.11.15 numpy==2.4.6
    python tools/make_clip_fixtures.py --vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz

(The committed fixtures were made with exactly these versions — torch 2.15.0 (+cu132 wheel, run on
CPU); the script records the versions it ran with in Tests/Fixtures/text/versions.json.)

What it writes:
  corpus.json            the corpus strings and open_clip's SimpleTokenizer ids (77 per text,
                         context-length truncation keeping <end_of_text>), using the given vocab.
  openclip_tiny.pt       a random open_clip CLIP (QuickGELU, text width 8, 2 heads, 2 layers,
                         embed_dim 12, tiny vision tower) state dict saved by torch.save, fp16.
  openclip_tiny.safetensors  the same state dict via safetensors.torch.save_file.
  openclip_tiny_embeddings.npy  float32 [N, 12] encode_text(tokens) (not normalised), computed
                         in float32 from the fp16-rounded weights.
  hf_tiny/               a random transformers CLIPTextModelWithProjection (width 16, 4 heads,
                         2 layers, projection 12) saved by save_pretrained (safetensors), fp16.
  hf_tiny_embeddings.npy float32 [N, 12] text_embeds for the same tokens.

Weights are random (seeded), so the vocabulary size stays the real 49408 and the corpus tokens can
be fed to both models. The narrow widths keep the files small (the token embedding dominates).
"""
import argparse
import json
import os

import numpy as np
import torch

CORPUS = [
    "a wall in a scene",
    "a chair in a scene",
    "other",
    "wall",
    "",
    "   ",
    "Hello, World!!!",
    "it's a dog's life; they're here & we'll see, I'd say I'm sure you've",
    "IT'S LOUD'S'T'RE",
    "3.14159 and 1,000,000 items; 2nd floor, room 101b",
    "café naïve résumé Zürich São Paulo Ærøskøbing",
    "北京大学 東京タワー 서울 Москва Αθήνα",
    "🙂🤖🚀 robots ❤️ 👍🏽 🇫🇷",
    "tab\there\nnew line\r\n  many   spaces  ",
    "&amp; &lt;tag&gt; &quot;x&quot; &#39;y&#39; &#x263A; &eacute; &amp;amp;",
    "curly ‘single’ and “double” quotes",
    "ﬁne ﬂower ﬀ ĳ",
    "ＦＵＬＬＷＩＤＴＨ　１２３！",
    "e\u0301 A\u030a decomposed",
    "don't stop-believing!? (ok) [x] {y} <z> #tag @user 50% $5 a/b\\c ~_~",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 300,
    "a photo of a " * 40,
    "shower curtain, otherfurniture, refridgerator, excercise equipment",
    "<start_of_text> literal special tokens <end_of_text> inside",
    "x\u200by zero\u00a0width\u3000space\u2028sep",
    "١٢٣ ½ Ⅻ ²",
    "İstanbul ß ΣΑΣ",
]


def tokenize(tok, texts):
    return tok(texts, context_length=77).numpy().astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", required=True, help="bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "text"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)

    import open_clip
    import transformers
    import safetensors
    import safetensors.torch
    import ftfy
    import regex
    from open_clip.tokenizer import SimpleTokenizer

    tok = SimpleTokenizer(bpe_path=args.vocab)
    tokens = tokenize(tok, CORPUS)
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": CORPUS, "tokens": tokens.tolist()}, f, ensure_ascii=True)
        f.write("\n")
    tokens_t = torch.from_numpy(tokens)

    # --- open_clip layout --------------------------------------------------------------
    text_cfg = open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=8, heads=2, layers=2)
    vision_cfg = open_clip.model.CLIPVisionCfg(layers=1, width=8, head_width=4, patch_size=16, image_size=32)
    m = open_clip.model.CLIP(embed_dim=12, vision_cfg=vision_cfg, text_cfg=text_cfg, quick_gelu=True)
    with torch.no_grad():
        for p in m.parameters():
            p.normal_(0.0, 0.5)           # larger than the init so every layer matters
            p.copy_(p.half().float())     # fp16-representable: the saved fp16 file is exact
        for name, b in m.named_buffers():
            pass
        m.eval()
        emb = m.encode_text(tokens_t, normalize=False).float().numpy()
    np.save(os.path.join(args.out, "openclip_tiny_embeddings.npy"), emb.astype(np.float32))
    sd = {k: v.half() if v.is_floating_point() else v for k, v in m.state_dict().items()}
    torch.save(sd, os.path.join(args.out, "openclip_tiny.pt"))
    safetensors.torch.save_file({k: v.contiguous() for k, v in sd.items()},
                                os.path.join(args.out, "openclip_tiny.safetensors"))

    # --- Hugging Face layout ----------------------------------------------------------
    cfg = transformers.CLIPTextConfig(vocab_size=49408, hidden_size=16, intermediate_size=64, projection_dim=12,
                                      num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
                                      hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=0)
    hf = transformers.CLIPTextModelWithProjection(cfg)
    with torch.no_grad():
        for p in hf.parameters():
            p.normal_(0.0, 0.5)
            p.copy_(p.half().float())
        hf.eval()
        hemb = hf(input_ids=tokens_t).text_embeds.float().numpy()
    np.save(os.path.join(args.out, "hf_tiny_embeddings.npy"), hemb.astype(np.float32))
    hf.half().save_pretrained(os.path.join(args.out, "hf_tiny"), safe_serialization=True)

    versions = {"torch": torch.__version__, "open_clip": open_clip.__version__,
                "transformers": transformers.__version__, "safetensors": safetensors.__version__,
                "ftfy": ftfy.__version__, "regex": regex.__version__, "numpy": np.__version__}
    with open(os.path.join(args.out, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1)
        f.write("\n")
    print("wrote", args.out, versions)


if __name__ == "__main__":
    main()
