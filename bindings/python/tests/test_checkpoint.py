from pathlib import Path

import numpy as np
import pytest

import ov3d
from ov3d.checkpoint import Checkpoint, convert

FIX = Path(__file__).resolve().parents[3] / "Tests" / "Fixtures" / "checkpoint"


def test_reads_cua_checkpoint_and_weights():
    with Checkpoint(FIX / "cua_o3d.pth.tar") as ck:
        assert len(ck) == 291
        assert ck.metadata("epoch") == "50"
        assert ck.info(ck.index("net3d.final_sd.kernel"))[1:] == ("float32", (6, 3200))
        assert ck["net3d.final.kernel"].shape == (6, 512)
    with Checkpoint(FIX / "cua_awl.pth.tar") as ck:
        assert ck.uncertainty_weights().shape == (3,)


def test_convert_round_trip(tmp_path):
    out = tmp_path / "m.safetensors"
    convert(FIX / "dtypes_views.pth", out, voxel_size=0.02, labels=["wall", "floor"])
    with Checkpoint(FIX / "dtypes_views.pth") as a, Checkpoint(out) as b:
        assert a.keys() == b.keys()
        for k in a.keys():
            assert np.array_equal(a[k], b[k])
        assert b.metadata("ov3d.voxel_size") == "0.02"
        assert b.metadata("ov3d.label_set") == '["wall","floor"]'


def test_hostile_file_is_a_format_error():
    with pytest.raises(ov3d.FormatError) as e:
        Checkpoint(FIX / "malicious_os_system.pth")
    assert "system" in str(e.value)
