"""Process start cost of ov3d, two builds side by side (the packaging issue's before/after).

    python3 bench/startup_bench.py --before OLD_DIR --after NEW_DIR [--pairs 41]

Each DIR holds `ov3d-tool` and `libov3d.so`. Per pair, in alternating order (ABAB, then BABA,
...): wall time of `ov3d-tool --version`, and of a Python process that dlopens the library
(`python3 -c "import ctypes; ctypes.CDLL(lib)"`) next to a bare `python3 -c pass`. Reports medians
and the after/before ratio, plus the shared libraries each binary maps (ldd). Standard library
only; no ov3d Python package needed. The machine is shared: pairs interleave so that load
changes hit both builds alike; report medians, not single runs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def wall(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - t


def ldd_count(path):
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return len([l for l in out.splitlines() if l.strip()]), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--pairs", type=int, default=41)
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    for name, d in builds.items():
        for f in ("ov3d-tool", "libov3d.so"):
            if not os.path.isfile(os.path.join(d, f)):
                sys.exit(f"{name}: {d}/{f} missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OV3D_")}
    for name, d in builds.items():  # warm the page cache once
        wall([os.path.join(d, "ov3d-tool"), "--version"], env)
        wall([sys.executable, "-c", f"import ctypes; ctypes.CDLL({os.path.join(d, 'libov3d.so')!r})"], env)
    times = {(n, what): [] for n in builds for what in ("tool", "dlopen")}
    bare = []
    for i in range(a.pairs):
        order = list(builds) if i % 2 == 0 else list(builds)[::-1]
        for n in order:
            times[(n, "tool")].append(wall([os.path.join(builds[n], "ov3d-tool"), "--version"], env))
        for n in order:
            lib = os.path.join(builds[n], "libov3d.so")
            times[(n, "dlopen")].append(wall([sys.executable, "-c", f"import ctypes; ctypes.CDLL({lib!r})"], env))
        bare.append(wall([sys.executable, "-c", "pass"], env))
    ms = lambda v: 1000 * statistics.median(v)
    print(f"startup, {a.pairs} interleaved pairs, medians (wall ms); {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for what, label in (("tool", "ov3d --version"), ("dlopen", "python3 + ctypes.CDLL(libov3d.so)")):
        b, f = ms(times[("before", what)]), ms(times[("after", what)])
        print(f"  {label:36s} before {b:7.1f}  after {f:7.1f}  after/before {f / b:.2f}")
    print(f"  {'python3 -c pass (floor)':36s} {ms(bare):7.1f}")
    for name, d in builds.items():
        for f in ("libov3d.so", "ov3d-tool"):
            n, out = ldd_count(os.path.join(d, f))
            heavy = [w for w in ("vtk", "OpenNI", "usb", "pcap", "dbus", "libswift", "Foundation") if w in out]
            print(f"  ldd {name:6s} {f:11s} {n:3d} libraries{'; includes ' + ', '.join(heavy) if heavy else ''}")


if __name__ == "__main__":
    main()
