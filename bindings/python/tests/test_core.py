import threading

import numpy as np
import pytest

import ov3d
from ov3d import _lib


def test_version_matches_abi():
    assert ov3d.version().count(".") == 2
    assert ov3d.abi_version() == _lib.ABI_VERSION


def test_invalid_argument_raises_typed_error_with_message():
    with pytest.raises(ov3d.InvalidArgumentError) as e:
        ov3d.set_num_threads(-3)
    assert e.value.code == -1
    assert "thread" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_last_error_is_thread_local():
    with pytest.raises(ov3d.InvalidArgumentError):
        ov3d.set_num_threads(-3)
    seen = []
    t = threading.Thread(target=lambda: seen.append(_lib.lib().ov3d_last_error()))
    t.start()
    t.join()
    assert seen == [b""]


def test_threads_round_trip():
    ov3d.set_num_threads(1)
    assert ov3d.get_num_threads() == 1
    ov3d.set_num_threads(0)
    assert ov3d.get_num_threads() >= 1


def test_log_callback_install_and_reset():
    got = []
    ov3d.set_log_callback(lambda lvl, m: got.append((lvl, m)), ov3d.LOG_DEBUG)
    ov3d.set_log_callback(None)
    with pytest.raises(ov3d.InvalidArgumentError):
        ov3d.set_log_callback(None, 42)


def test_points_view_checks_dtype_and_layout():
    with pytest.raises(ov3d.InvalidArgumentError):
        ov3d.points_view(np.zeros((4, 3), np.float64))
    with pytest.raises(ov3d.InvalidArgumentError):
        ov3d.points_view(np.zeros((4, 2), np.float32))
    rec = np.zeros(5, dtype=[("xyz", np.float32, 3), ("rgb", np.uint8, 3), ("pad", np.uint8)])
    v, keep = ov3d.points_view(rec["xyz"], rgb=rec["rgb"])
    assert v.count == 5 and v.xyz_stride == rec.dtype.itemsize and v.rgb_stride == rec.dtype.itemsize
