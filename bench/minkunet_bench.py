#!/usr/bin/env python3
"""MinkUNet18A (512-d head) forward: ov3d vs spconv 2.3 and plain PyTorch, interleaved (issue 3).

Runs, for each input (a generated ~108k-voxel room at 2 cm with surface-like sparsity, and the real
ScanNet scene ../shared/data/scannet_votenet50k/scene0000_00_vert.npy when present) and each thread
count (1, 2):
  * bench/peers.py --serve (spconv + PyTorch gather-GEMM-scatter, same seeded weights, same voxels,
    same thread count; every peer's output is checked against a float64 ME reference first);
  * `ov3d-tool features --voxel-coords` on the weights and coordinates the peers wrote; its output is
    checked against the same float64 reference (rel max-abs < 1e-4) before it is timed;
  * R interleaved rounds: ov3d as shipped, spconv, torch, then ov3d with OPENBLAS_CORETYPE unset
    and ov3d's OpenBLAS path (OV3D_KERNELS=blas) with CORETYPE set and unset (one forward each;
    ov3d's time is its in-process forward, measured after a warm-up forward, excluding process
    start and model load; every variant's output is checked first);
  * calibration: sgemm 4096x256x256 by OpenBLAS (CORETYPE set and unset) and by ov3d's own kernel
    (bench/calib_sgemm.c), and peers.py's torch.mm calibration + the network's GEMM floor (same
    per-offset GEMM shapes, dense, torch.mm/MKL).
Reports medians (wall ms and CPU ms), voxels, FLOPs, GFLOP/s, ratios, peak memory.

Requirements: a release build (`swift build -c release --product ov3d-tool`), the venv of
tools/minkunet_reference.py (torch 2.13 CPU, spconv 2.3.8, numpy, safetensors), a C compiler and
OpenBLAS headers. Usage (shared machines: keep it short, run under nice):
    nice /path/to/venv/bin/python bench/minkunet_bench.py --runs 3 --json /tmp/ov3d_bench.json
    ... --inputs room --threads 1            # a subset
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def sh(cmd, env=None):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)


class Peers:
    def __init__(self, args_list, threads):
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "peers.py"), "--serve", "--threads", str(threads)]
                                  + args_list, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit(f"peers.py did not start: {line}")
        self.voxels, self.flops = int(line[1]), float(line[2])

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().split()

    def peak_mb(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.cmd("quit") if self.p.poll() is None else None
        self.p.wait()


def ov3d_run(tool, weights, coords, out, threads, env):
    r = subprocess.run([tool, "features", "--checkpoint", weights, "--voxel-coords", coords, "--out", out,
                        "--threads", str(threads), "--repeat", "2"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"ov3d-tool failed: {r.stderr}")
    stats = json.loads(r.stderr.strip().splitlines()[-1])
    return stats["ms"][-1], stats["cpu_ms"][-1], stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default=None, help="ov3d-tool binary (default: .build/release/ov3d-tool)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--inputs", default="room,scene")
    ap.add_argument("--peers", default="spconv,torch")
    ap.add_argument("--json")
    ap.add_argument("--workdir", help="keep weights, coordinates and the float64 reference cache here (reused by later runs)")
    args = ap.parse_args()
    tool = args.tool or os.path.join(ROOT, ".build", "release", "ov3d-tool")
    if not os.path.exists(tool):
        raise SystemExit(f"{tool} not found: swift build -c release --product ov3d-tool")
    tmp = args.workdir or tempfile.mkdtemp(prefix="ov3d-bench-")
    os.makedirs(tmp, exist_ok=True)
    calib = os.path.join(tmp, "calib_sgemm")
    cflags = sh(["pkg-config", "--cflags", "--libs", "openblas"]).stdout.split()
    kdir = os.path.join(ROOT, "Sources", "CKernels")
    sh(["cc", "-O3", os.path.join(HERE, "calib_sgemm.c"), os.path.join(kdir, "gemm_rows_avx512.c"),
        "-I", os.path.join(kdir, "include"), "-o", calib] + cflags + ["-lpthread"])
    scene = os.path.join(ROOT, "..", "shared", "data", "scannet_votenet50k", "scene0000_00_vert.npy")
    env_set = {k: v for k, v in os.environ.items() if k != "OV3D_KERNELS"}
    env_unset = {k: v for k, v in env_set.items() if k != "OPENBLAS_CORETYPE"}
    # ov3d as shipped (its AVX-512 kernels where the CPU has them), with the machine's CORETYPE
    # and without it, and ov3d's OpenBLAS path (what CPUs without AVX-512 run) for comparison.
    variants = {"ov3d": env_set, "ov3d_coretype_unset": env_unset,
                "ov3d_openblas_path": dict(env_set, OV3D_KERNELS="blas"),
                "ov3d_openblas_path_unset": dict(env_unset, OV3D_KERNELS="blas")}
    results = []
    for inp in args.inputs.split(","):
        if inp == "scene" and not os.path.exists(scene):
            print(f"SKIP scene: {scene} not found (../shared/data absent)")
            continue
        src = ["--room"] if inp == "room" else ["--scene", scene, "--voxel-size", "0.02"]
        for threads in [int(t) for t in args.threads.split(",")]:
            w, c = os.path.join(tmp, f"w_{inp}.safetensors"), os.path.join(tmp, f"c_{inp}.npy")
            cache = os.path.join(tmp, f"ref_{inp}")
            peers = Peers(src + ["--write-weights", w, "--write-coords", c, "--ref-cache", cache,
                                 "--peers", args.peers], threads)
            out = os.path.join(tmp, "out.npy")
            checks = {}
            for name, env in variants.items():
                ov3d_run(tool, w, c, out, threads, env)
                checks[name] = float(peers.cmd(f"check {out}")[1])
            ok = all(v < 1e-4 for v in checks.values())
            print(f"[{inp}, {threads} thread(s)] voxels {peers.voxels}, FLOPs {peers.flops / 1e9:.1f} G; vs fp64 reference, rel max-abs: "
                  + ", ".join(f"{k} {v:.2e}" for k, v in checks.items()) + f" -> {'OK' if ok else 'WRONG'}", flush=True)
            if not ok:
                raise SystemExit("an ov3d output differs from the reference: not timing it")
            t = {name: [] for name in variants}
            t.update({p: [] for p in args.peers.split(",") if p})
            ov3d_peak = 0
            for _ in range(args.runs):
                for name, env in variants.items():
                    ms, cpu, st = ov3d_run(tool, w, c, out, threads, env)
                    t[name].append((ms, cpu))
                    if name == "ov3d":
                        ov3d_peak = max(ov3d_peak, st["peak_rss_mb"])
                    if name == "ov3d":   # the peers right after ov3d as shipped, interleaved
                        for p in args.peers.split(","):
                            r = peers.cmd(f"run {p}") if p else []
                            if len(r) >= 3:
                                t[p].append((float(r[1]), float(r[2])))
            cal = peers.cmd("calib")
            blas_set, blas_set_cpu = map(float, sh([calib, str(threads)], env=env_set).stdout.split())
            blas_unset, blas_unset_cpu = map(float, sh([calib, str(threads)], env=env_unset).stdout.split())
            kern, kern_cpu = map(float, sh([calib, str(threads), "ov3d"], env=env_set).stdout.split())
            floor_ms = float(cal[2])
            row = {"input": inp, "threads": threads, "voxels": peers.voxels, "flops": peers.flops,
                   "ov3d_check_rel": checks,
                   "calib_openblas_gflops": blas_set, "calib_openblas_gflops_coretype_unset": blas_unset,
                   "calib_openblas_cpu_gflops": blas_set_cpu, "calib_openblas_cpu_gflops_coretype_unset": blas_unset_cpu,
                   "calib_ov3d_kernel_gflops": kern, "calib_ov3d_kernel_cpu_gflops": kern_cpu,
                   "gemm_floor_torch_cpu_ms": float(cal[3]) if len(cal) > 3 else None,
                   "calib_torch_gflops": float(cal[1]), "gemm_floor_torch_ms": floor_ms,
                   "ov3d_peak_rss_mb": ov3d_peak, "peers_peak_rss_mb": peers.peak_mb(), "runs": {}}
            for name, vals in t.items():
                if not vals:
                    continue
                med = statistics.median(v[0] for v in vals)
                medc = statistics.median(v[1] for v in vals)
                row["runs"][name] = {"median_ms": med, "median_cpu_ms": medc, "all": vals,
                                     "gflops": peers.flops / med / 1e6}
            peers.close()
            results.append(row)
            base = row["runs"]["ov3d"]["median_ms"]
            floor_cpu = row["gemm_floor_torch_cpu_ms"] or floor_ms
            print(f"  calibration sgemm 4096x256x256 (wall / CPU-time GFLOP/s): OpenBLAS {blas_set:.1f} / {blas_set_cpu:.1f} "
                  f"(CORETYPE set), {blas_unset:.1f} / {blas_unset_cpu:.1f} (unset); ov3d kernel {kern:.1f} / {kern_cpu:.1f}; "
                  f"torch.mm {float(cal[1]):.1f}; network GEMM floor (torch.mm, same shapes) {floor_ms:.0f} ms wall, "
                  f"{floor_cpu:.0f} ms CPU", flush=True)
            # GEMM floors in CPU ms: the network's FLOPs at a calibration's rate.
            floors = {"OpenBLAS(set)": peers.flops / blas_set_cpu / 1e6, "OpenBLAS(unset)": peers.flops / blas_unset_cpu / 1e6,
                      "ov3d-kernel": peers.flops / kern_cpu / 1e6 if kern_cpu == kern_cpu else float("nan")}
            row["gemm_floor_cpu_ms"] = floors
            basec = row["runs"]["ov3d"]["median_cpu_ms"]
            for name, r in row["runs"].items():
                print(f"  {name:26s} median {r['median_ms']:7.0f} ms wall {r['median_cpu_ms']:7.0f} ms CPU  "
                      f"{r['gflops']:6.1f} GFLOP/s  wall x{r['median_ms'] / base:4.2f} CPU x{r['median_cpu_ms'] / basec:4.2f} of ov3d  "
                      f"CPU x{r['median_cpu_ms'] / floor_cpu:4.2f} torch floor", flush=True)
            c = row["runs"]["ov3d"]["median_cpu_ms"]
            print("  ov3d CPU time / GEMM floor at each calibration's rate: "
                  + ", ".join(f"x{c / v:4.2f} {k}" for k, v in floors.items()), flush=True)
            if "spconv" in row["runs"]:
                print(f"  spconv / ov3d: wall x{row['runs']['spconv']['median_ms'] / base:4.2f}, "
                      f"CPU x{row['runs']['spconv']['median_cpu_ms'] / c:4.2f}", flush=True)
            print(f"  peak RSS: ov3d {ov3d_peak:.0f} MB, peers process (spconv + torch + fp64 ref) {row['peers_peak_rss_mb']:.0f} MB",
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
