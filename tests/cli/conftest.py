"""Fixtures shared by several tests/cli files."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_features_cli import TOOL  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def synth_tiny(tmp_path_factory):
    """`ov3d synth --preset tiny --seed 3` (with frame features), written once per session:
    (folder, stdout). Used by test_synth_cli.py and test_demo_cli.py (the demo generates the same
    room and must reproduce the folder's teachers and evaluation)."""
    if TOOL is None:
        pytest.skip("ov3d-tool not built")
    out = tmp_path_factory.mktemp("synth") / "tiny"
    p = subprocess.run([TOOL, "synth", "--preset", "tiny", "--seed", "3", "--out", str(out), "--stats",
                        "--embeddings", str(ROOT / "data" / "clip"), "--threads", "2"],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr
    return out, p.stdout
