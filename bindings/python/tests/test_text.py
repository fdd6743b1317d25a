import os
from pathlib import Path

import numpy as np
import pytest

import ov3d
from ov3d.text import TextEncoder, Vocabulary, label_set_class_of

ROOT = Path(__file__).resolve().parents[3]
VOCAB = Path(os.environ.get("OV3D_SHARED_DATA", ROOT / ".." / "shared" / "data")) / "clip" / "bpe_simple_vocab_16e6.txt.gz"
FIX = ROOT / "Tests" / "Fixtures" / "text"


def test_vocabulary_from_embeddings():
    e = np.eye(3, dtype=np.float32) * 2
    with Vocabulary.from_embeddings(e, names=["a", "b", "c"]) as v:
        assert v.names == ["a", "b", "c"] and len(v) == 3
        labels, scores = v.classify(np.array([[0, 5, 1]], dtype=np.float32))
        assert labels.tolist() == [1] and abs(scores[0] - 5 / np.sqrt(26)) < 1e-6
        assert v.heatmap("c", np.array([[0, 0, 1]], dtype=np.float32)).tolist() == [1.0]
        with pytest.raises(ov3d.InvalidArgumentError):
            v.classify(np.full((1, 3), np.nan, dtype=np.float32))
    with pytest.raises(ov3d.InvalidArgumentError):
        Vocabulary.from_embeddings(np.zeros((1, 3), dtype=np.float32))
    assert label_set_class_of("nuscenes16", 42) == 15


@pytest.mark.skipif(not VOCAB.exists(), reason="shared CLIP vocabulary absent")
def test_encoder_matches_fixture():
    with TextEncoder(FIX / "hf_tiny", VOCAB) as enc:
        assert enc.dim == 12
        assert enc.tokenize("a chair")[:4].tolist() == [49406, 320, 4269, 49407]
        raw = enc.encode(["a wall in a scene"], normalize=False)
        ref = np.load(FIX / "hf_tiny_embeddings.npy")[0]
        assert np.abs(raw[0] - ref).max() / np.abs(ref).max() < 1e-5
        v = enc.label_set("scannet20")
        assert len(v) == 20 and v.names[-1] == "other"
        with pytest.raises(ov3d.InvalidArgumentError):
            enc.encode([])
        with pytest.raises(ov3d.InvalidArgumentError):
            enc.encode(["x" * (1 << 20)])
    with pytest.raises(ov3d.FormatError):
        TextEncoder(ROOT / "Tests" / "Fixtures" / "text" / "corpus.json", VOCAB)
