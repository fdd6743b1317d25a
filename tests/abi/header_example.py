#!/usr/bin/env python3
"""Compiles and runs the usage example at the top of include/ov3d.h (between BEGIN EXAMPLE and
END EXAMPLE) as C99 with warnings as errors, with a main() that calls it on a small cloud, the
room_18a_w8 MinkUNet fixture (16-d head) and random embeddings. Guards against a header example
that calls functions which do not exist.

Usage: python3 tests/abi/header_example.py path/to/libov3d.so
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN = r'''
int main(void) {
    enum { N = 500, W = 3, D = 16 };
    static robot_point pts[N];
    static float emb[W * D];
    for (int i = 0; i < N; i++) {
        pts[i].x = (float)(i % 10) * 0.05f; pts[i].y = (float)((i / 10) % 10) * 0.05f;
        pts[i].z = (float)(i / 100) * 0.05f; pts[i].intensity = 1;
    }
    for (int i = 0; i < W * D; i++) emb[i] = (float)((i * 37) % 11) - 5.0f;
    const char *words[W] = {"wall", "floor", "fire extinguisher"};
    return label_cloud(pts, N, "%s", words, emb, W, D);
}
'''


def main():
    lib = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ["OV3D_LIBRARY"]).resolve()
    text = (ROOT / "include" / "ov3d.h").read_text()
    m = re.search(r"\* BEGIN EXAMPLE\n(.*?)\n \* END EXAMPLE", text, re.S)
    if not m:
        sys.exit("header_example: no BEGIN EXAMPLE ... END EXAMPLE block in include/ov3d.h")
    code = "\n".join(re.sub(r"^ \*(?:     )?", "", l) for l in m.group(1).splitlines())
    weights = ROOT / "Tests" / "Fixtures" / "minkunet" / "room_18a_w8" / "weights.safetensors"
    code += MAIN.replace('"%s"', '"' + str(weights) + '"')
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "example.c", Path(d) / "example"
        src.write_text(code)
        subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'include'}", str(src),
                        f"-L{lib.parent}", "-lov3d", f"-Wl,-rpath,{lib.parent}", "-o", str(exe)], check=True)
        out = subprocess.run([str(exe)], capture_output=True, text=True)
        print(out.stdout, end="")
        if out.returncode != 0:
            sys.exit(f"header_example: the example failed ({out.returncode}): {out.stderr}")
    print("header example: 1 passed")


if __name__ == "__main__":
    main()
