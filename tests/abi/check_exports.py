#!/usr/bin/env python3
"""ABI checks for libov3d.so against include/ov3d.h.

1. The set of exported `ov3d_*` symbols equals the set of functions declared in the header.
2. Every declared function is called with hostile arguments (NULL pointers, zero and huge
   sizes, NaN floats, wrong struct_size in params structs, empty / invalid UTF-8 / missing-file
   strings) in a child process. Nothing may crash; a non-zero status must come with a message
   from ov3d_last_error().

Usage: python3 tests/abi/check_exports.py path/to/libov3d.so
"""
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import header_parse  # noqa: E402

STATUS_CODES = {0, -1, -2, -3, -4, -5, -6, -7}


def exported_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split() and line.split()[-1].startswith("ov3d_")}


def struct_sizes():
    """sizeof of every struct typedef in the header, measured by compiling a tiny C program."""
    text = header_parse.strip_comments(header_parse.HEADER.read_text())
    structs, _, _, _ = header_parse.typedef_names(text)
    if not structs:
        return {}
    src = '#include "ov3d.h"\n#include <stdio.h>\nint main(void){\n'
    for s in sorted(structs):
        src += f'printf("{s} %zu\\n", sizeof({s}));\n'
    src += "return 0;}\n"
    with tempfile.TemporaryDirectory() as d:
        c = Path(d) / "sizes.c"
        c.write_text(src)
        exe = Path(d) / "sizes"
        subprocess.run(["cc", "-std=c99", f"-I{header_parse.ROOT / 'include'}", str(c), "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {l.split()[0]: int(l.split()[1]) for l in out.splitlines()}


def ctype_for(t, structs, opaque, enums, callbacks):
    base = t.replace("const", "").replace("*", "").strip()
    if t.count("*") >= 1:
        return ctypes.c_void_p
    if base in callbacks:
        return ctypes.c_void_p
    if base in enums:
        return ctypes.c_int32
    table = {
        "int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
        "size_t": ctypes.c_size_t, "int": ctypes.c_int, "float": ctypes.c_float, "double": ctypes.c_double,
        "uint8_t": ctypes.c_uint8, "int8_t": ctypes.c_int8, "uint16_t": ctypes.c_uint16, "int16_t": ctypes.c_int16,
        "char": ctypes.c_char, "bool": ctypes.c_bool, "_Bool": ctypes.c_bool,
    }
    if base in table:
        return table[base]
    if base in structs:
        return None  # struct by value: not exercised
    raise SystemExit(f"check_exports: unknown parameter type '{t}'")


class Arena:
    """Keeps buffers alive for the duration of a call."""

    def __init__(self):
        self.keep = []

    def buf(self, nbytes, fill=b"\x00"):
        b = ctypes.create_string_buffer(fill * nbytes, nbytes)
        self.keep.append(b)
        return ctypes.cast(b, ctypes.c_void_p)

    def nan_floats(self, n=16384):
        a = (ctypes.c_float * n)(*([float("nan")] * n))
        self.keep.append(a)
        return ctypes.cast(a, ctypes.c_void_p)

    def struct(self, size, declared):
        b = ctypes.create_string_buffer(max(size, 4096))
        ctypes.memmove(b, ctypes.byref(ctypes.c_uint32(declared)), 4)
        self.keep.append(b)
        return ctypes.cast(b, ctypes.c_void_p)

    def cstr(self, s):
        b = ctypes.create_string_buffer(s)
        self.keep.append(b)
        return ctypes.cast(b, ctypes.c_void_p)


def arg_value(p, variant, info, arena):
    structs, opaque, enums, callbacks, sizes = info
    t = p.type
    base = t.replace("const", "").replace("*", "").strip()
    stars = t.count("*")
    if stars == 0:
        if base in callbacks:
            return None
        if base in ("float", "double"):
            return [0.0, float("nan"), float("nan"), 0.5, float("inf")][variant]
        if base in ("size_t", "uint64_t"):
            return [0, 1 << 62, 1, 7, 3][variant]
        if base in ("int64_t",):
            return [0, -(1 << 62), 1, 7, -1][variant]
        if base in ("uint32_t",):
            return [0, 0xFFFFFFFF, 1, 7, 3][variant]
        return [0, -1, 1, 7, 2][variant]
    # pointers
    if base in opaque:
        if stars >= 2:  # out-parameter for a handle
            return None if variant in (0, 1) else arena.buf(16)
        return None  # a handle: only NULL can be fabricated safely
    if variant in (0, 1):
        return None
    if base == "char" and stars == 1:
        return {2: arena.cstr(b""), 3: arena.cstr(b"/nonexistent/ov3d-abi-test.bin"), 4: arena.cstr(b"\xff\xfe\xfd")}[variant]
    if base in structs:
        size = sizes.get(base, 64)
        declared = {2: 3, 3: size, 4: 0xFFFF}[variant]
        return arena.struct(size, declared)
    if stars >= 2:  # e.g. const char **texts
        a = (ctypes.c_void_p * 64)()
        if variant == 4:
            for i in range(64):
                a[i] = arena.cstr(b"\xff\xfe")
        arena.keep.append(a)
        return ctypes.cast(a, ctypes.c_void_p)
    if base in ("float", "double") and variant in (2, 4):
        return arena.nan_floats()
    return arena.buf(1 << 16)


def fuzz_child(lib_path):
    lib = ctypes.CDLL(lib_path)
    text = header_parse.strip_comments(header_parse.HEADER.read_text())
    structs, opaque, enums, callbacks = header_parse.typedef_names(text)
    sizes = struct_sizes()
    info = (structs, opaque, enums, callbacks, sizes)
    lib.ov3d_last_error.restype = ctypes.c_char_p
    problems = []
    calls = 0
    for f in header_parse.parse():
        fn = getattr(lib, f.name)
        ret_base = f.ret.replace("const", "").replace("*", "").strip()
        if ret_base in structs and "*" not in f.ret:
            fn.restype = type(ret_base, (ctypes.Structure,), {"_fields_": [("raw", ctypes.c_uint64 * ((sizes[ret_base] + 7) // 8))]})
        elif "*" in f.ret:
            fn.restype = ctypes.c_void_p
        elif f.ret == "void":
            fn.restype = None
        else:
            fn.restype = ctype_for(f.ret, structs, opaque, enums, callbacks)
        argtypes = [ctype_for(p.type, structs, opaque, enums, callbacks) for p in f.params]
        if any(a is None for a in argtypes):
            continue
        fn.argtypes = argtypes
        for variant in range(5):
            arena = Arena()
            args = [arg_value(p, variant, info, arena) for p in f.params]
            print(f"CALL {f.name} variant {variant}", flush=True)
            r = fn(*args)
            calls += 1
            if f.ret == "int32_t" and f.name.startswith("ov3d_") and not f.name.endswith(("_count", "_dim", "_size")):
                if r not in STATUS_CODES and r < 0:
                    problems.append(f"{f.name} variant {variant}: returned unknown status {r}")
                if r < 0 and not lib.ov3d_last_error():
                    problems.append(f"{f.name} variant {variant}: status {r} without a message")
    for p in problems:
        print("PROBLEM", p)
    print(f"FUZZ-DONE calls={calls} problems={len(problems)}", flush=True)
    return 1 if problems else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--fuzz-child":
        sys.exit(fuzz_child(sys.argv[2]))
    lib = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OV3D_LIBRARY", "")
    if not lib or not Path(lib).exists():
        sys.exit(f"check_exports: libov3d.so not found (argument or OV3D_LIBRARY): '{lib}'")
    passed = failed = 0
    declared = {f.name for f in header_parse.parse()}
    exported = exported_symbols(lib)
    if declared == exported:
        print(f"ok: {len(declared)} declared functions == exported ov3d_* symbols")
        passed += 1
    else:
        failed += 1
        print("FAIL: declared but not exported:", sorted(declared - exported))
        print("FAIL: exported but not declared:", sorted(exported - declared))
    child = subprocess.run([sys.executable, __file__, "--fuzz-child", lib], capture_output=True, text=True)
    lines = child.stdout.splitlines()
    done = [l for l in lines if l.startswith("FUZZ-DONE")]
    if child.returncode == 0 and done:
        print(f"ok: hostile-argument calls survived ({done[0]})")
        passed += 1
    else:
        failed += 1
        last = [l for l in lines if l.startswith("CALL")][-1:] or ["(none)"]
        print(f"FAIL: fuzz child exited {child.returncode}; last call: {last[0]}")
        for l in lines:
            if l.startswith("PROBLEM"):
                print(l)
        print(child.stderr[-3000:])
    print(f"abi: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
