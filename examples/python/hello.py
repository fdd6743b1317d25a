"""Minimal Python host: `pip install ./bindings/python`, then OV3D_LIBRARY=.build/release/libov3d.so python3 examples/python/hello.py"""
import ov3d

print("libov3d", ov3d.version())
try:
    ov3d.set_num_threads(-1)
except ov3d.InvalidArgumentError as e:
    print("expected error:", e)
