#!/usr/bin/env python3
"""MinkUNet CPU peers for the ov3d sparse-conv benchmark (issue 3).

Peers (same weights, same input, same thread count):
  spconv  spconv 2.3 CPU (SubMConv3d / SparseConv3d / SparseInverseConv3d, Native algo;
          PyTorch's CPU GEMM underneath, MKL on x86)
  torch   plain PyTorch gather-GEMM-scatter with MinkowskiEngine semantics
          (tools/minkunet_common.py:MEReference; kernel maps rebuilt every forward)
Every peer's output is checked against a float64 run of the ME reference before it is timed (a
peer that disagrees by more than 1e-4 relative max-abs is reported WRONG and not timed).
Kernel-map building is inside the timed forward for both peers (as for ov3d).

Environment: the venv of tools/minkunet_reference.py (torch==2.13.0+cpu, spconv==2.3.8, numpy,
safetensors). Run with `nice` on shared machines.

Batch mode (prints a table and optionally a JSON file):
  python3 bench/peers.py --room --threads 1 --runs 5 --json /tmp/peers.json
  python3 bench/peers.py --scene ../shared/data/scannet_votenet50k/scene0000_00_vert.npy
  python3 bench/peers.py --coords room_coords.npy --weights w.safetensors --write-weights w.st
  python3 bench/peers.py --room --check-output ov3d_out.npy      # compare any (Nv, D) output
Times are wall-clock and process CPU time (the machines are shared: CPU time is the steadier
number for 1 thread; with more threads it is the sum over threads).

Serve mode, for a benchmark in another language that interleaves its own runs with the peers:
  python3 bench/peers.py --room --serve
  After setup and the correctness checks it prints `READY <n_voxels> <flops>`; then reads one
  command per line from stdin and answers with one line:
    run <peer>        -> `<peer> <wall_ms> <cpu_ms>`  (one timed forward; peer = spconv | torch;
                         `<peer> WRONG` if its output failed the check)
    calib             -> `calib <sgemm_gflops> <gemm_floor_wall_ms> <gemm_floor_cpu_ms>`
    check <file.npy>  -> `check <rel_maxabs> <abs_maxabs>` (vs the float64 reference, head 0)
    quit              -> exits
  `--write-weights FILE` writes the weights used (safetensors, ME layout, net3d. keys) and
  `--write-coords FILE` the int32 voxel coordinates, so the other side runs the same network.

Default network: MinkUNet18A, 512-d head, seeded weights (tools/minkunet_common.py) unless
--weights is given (any MinkUNet BasicBlock family member; widths read from the shapes).
Reports: ms (median of interleaved runs), voxels, FLOPs = 2 x kernel-map pairs x Cin x Cout over
all convs (heads included), achieved GFLOP/s, a calibration sgemm (torch.mm 4096x256 @ 256x256)
in GFLOP/s, and the network's GEMM floor: the same per-offset GEMM shapes as the forward run with
torch.mm on dense buffers (no gather/scatter), in ms.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
from minkunet_common import (MEReference, arch, arch_from_state_dict, build_spconv, conv_list,  # noqa: E402
                             load_state_dict, rel_maxabs, save_safetensors, seeded_state_dict,
                             spconv_input, voxelize)
from make_room import make_room_points, neighbour_stat  # noqa: E402

TOL = 1e-4


class Peers:
    def __init__(self, a, sd, coords, feats):
        self.a, self.sd, self.coords, self.feats = a, sd, coords, feats
        self.h0 = a.heads[0][0]
        self.spnet = build_spconv(a, sd)
        self.ref = None
        self.ok = {}

    def run(self, peer):
        """One forward; returns (wall ms, process CPU ms, output of head 0)."""
        if peer not in ("spconv", "torch"):
            raise ValueError(f"unknown peer {peer}")
        with torch.no_grad():
            t0, c0 = time.perf_counter(), time.process_time()
            if peer == "spconv":
                out = self.spnet(spconv_input(self.coords, self.feats))[self.h0]
            else:
                r = MEReference(self.a, self.sd)
                r.setup(self.coords)
                out = r.forward(self.feats)[self.h0]
            return (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3, out

    def reference(self, cache=None):
        """float64 ME-reference output of head 0 (optionally cached in a .npy keyed by a digest
        of weights + coordinates, since it takes tens of seconds for the full room)."""
        if self.ref is None:
            r = MEReference(self.a, self.sd, dtype=torch.float64)
            r.setup(self.coords)
            self.ref_obj = r
            key = self.digest()
            if cache and os.path.exists(cache) and os.path.exists(cache + ".key") and \
                    open(cache + ".key").read().strip() == key:
                self.ref = np.load(cache)      # (kernel maps are built lazily by flops())
            else:
                with torch.no_grad():
                    self.ref = r.forward(self.feats)[self.h0].numpy()
                if cache:
                    np.save(cache, self.ref)
                    with open(cache + ".key", "w") as f:
                        f.write(key + "\n")
        return self.ref

    def digest(self):
        import hashlib
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.coords, dtype=np.int32).tobytes())
        for k in sorted(self.sd):
            h.update(k.encode())
            h.update(np.ascontiguousarray(self.sd[k]).tobytes())
        return h.hexdigest()

    def check(self, peer):
        _, _, out = self.run(peer)
        e = rel_maxabs(out.numpy(), self.reference())
        self.ok[peer] = e[0] < TOL
        return e

    def gemm_shapes(self):
        r = self.ref_obj
        shapes = []
        for name, K, cin, cout in conv_list(self.a):
            km = r._kmap_of(name, K)
            for rows in km.in_rows:
                if len(rows):
                    shapes.append((len(rows), cin, cout))
        return shapes

    def calib(self, reps=3):
        a = torch.randn(4096, 256)
        b = torch.randn(256, 256)
        torch.mm(a, b)
        best = 1e9
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(10):
                torch.mm(a, b)
            best = min(best, (time.perf_counter() - t0) / 10)
        gflops = 2 * 4096 * 256 * 256 / best / 1e9
        shapes = self.gemm_shapes()
        mx = max(n for n, _, _ in shapes)
        cmax = max(c for _, c, _ in shapes)
        omax = max(o for _, _, o in shapes)
        A = torch.randn(mx, cmax)
        B = torch.randn(cmax, omax)
        C = torch.empty(mx, omax)
        floor, floor_cpu = 1e12, 1e12
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            for n, ci, co in shapes:
                torch.mm(A[:n, :ci], B[:ci, :co], out=C[:n, :co])
            floor = min(floor, (time.perf_counter() - t0) * 1e3)
            floor_cpu = min(floor_cpu, (time.process_time() - c0) * 1e3)
        return gflops, floor, floor_cpu


def load_input(args):
    if args.coords:
        coords = np.load(args.coords).astype(np.int64)
        if coords.shape[1] == 4:
            coords = coords[:, 1:]
        coords = coords - coords.min(0)
        return coords.astype(np.int32), f"coords {args.coords}"
    if args.scene:
        p = np.load(args.scene)[:, :3]
        c, _, _ = voxelize(p, args.voxel_size)
        return c, f"scene {os.path.basename(args.scene)} ({len(p)} points)"
    p = make_room_points(seed=args.room_seed)
    c, _, _ = voxelize(p, 0.02)
    return c, f"synthetic room (bench/make_room.py seed {args.room_seed}, {len(p)} points)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--room", action="store_true", help="generated ~108k-voxel room (default)")
    src.add_argument("--scene", help="(N, >=3) float .npy of points in metres, voxelised at --voxel-size")
    src.add_argument("--coords", help="int32 (N,3) or (N,4) voxel coordinates .npy")
    ap.add_argument("--room-seed", type=int, default=7)
    ap.add_argument("--voxel-size", type=float, default=0.02)
    ap.add_argument("--weights", help="safetensors state dict (ME layout); default: seeded 18A/512")
    ap.add_argument("--write-weights")
    ap.add_argument("--write-coords")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peers", default="spconv,torch")
    ap.add_argument("--json")
    ap.add_argument("--check-output", help="(Nv, D) .npy to compare against the float64 reference")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--ref-cache", help="cache the float64 reference output here (.npy + .key)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    coords, what = load_input(args)
    if args.weights:
        sd = load_state_dict(args.weights)
        a = arch_from_state_dict(sd)
    else:
        a = arch("18A")
        sd = seeded_state_dict(a)
    if args.write_weights:
        save_safetensors(args.write_weights, sd, metadata={"arch": a.name, "layout": "MinkowskiEngine"})
    if args.write_coords:
        np.save(args.write_coords, coords.astype(np.int32))
    feats = np.ones((len(coords), a.in_ch), np.float32)
    P = Peers(a, sd, coords, feats)
    log = (lambda *x: print(*x, file=sys.stderr, flush=True)) if args.serve else print
    t0 = time.perf_counter()
    P.reference(args.ref_cache)
    flops = P.ref_obj.flops()
    log(f"input: {what}; voxels {len(coords)}; 3x3x3 occupancy {neighbour_stat(coords):.2f}; "
        f"arch layers {a.layers} planes {a.planes} heads {a.heads}; FLOPs {flops / 1e9:.1f} G; "
        f"threads {args.threads}; fp64 reference {time.perf_counter() - t0:.1f} s")
    peers = [p for p in args.peers.split(",") if p]
    checks = {}
    for p in peers:
        e = P.check(p)
        checks[p] = {"rel_maxabs": e[0], "abs_maxabs": e[1], "ok": P.ok[p]}
        log(f"check {p}: rel max-abs {e[0]:.2e} abs {e[1]:.2e} -> {'OK' if P.ok[p] else 'WRONG (not timed)'}")
    if args.check_output:
        e = rel_maxabs(np.load(args.check_output), P.reference())
        log(f"check {args.check_output}: rel max-abs {e[0]:.2e} abs {e[1]:.2e}")

    if args.serve:
        print(f"READY {len(coords)} {flops}", flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "quit":
                break
            try:
                if cmd[0] == "run":
                    if not P.ok.get(cmd[1], False):
                        print(f"{cmd[1]} WRONG", flush=True)
                        continue
                    ms, cpu, _ = P.run(cmd[1])
                    print(f"{cmd[1]} {ms:.3f} {cpu:.3f}", flush=True)
                elif cmd[0] == "calib":
                    g, fl, flc = P.calib()
                    print(f"calib {g:.2f} {fl:.3f} {flc:.3f}", flush=True)
                elif cmd[0] == "check":
                    e = rel_maxabs(np.load(cmd[1]), P.reference())
                    print(f"check {e[0]:.3e} {e[1]:.3e}", flush=True)
                else:
                    print(f"error unknown command {cmd[0]}", flush=True)
            except Exception as ex:  # keep serving; report the problem on the protocol line
                print(f"error {type(ex).__name__}: {ex}".replace("\n", " "), flush=True)
        return

    times = {p: [] for p in peers if P.ok[p]}
    cpus = {p: [] for p in times}
    for _ in range(args.runs):
        for p in times:
            ms, cpu, _ = P.run(p)
            times[p].append(ms)
            cpus[p].append(cpu)
    gflops, floor, floor_cpu = P.calib()
    res = {"input": what, "voxels": int(len(coords)), "flops": int(flops), "threads": args.threads,
           "runs": args.runs, "checks": checks, "calib_sgemm_gflops": gflops, "gemm_floor_ms": floor, "gemm_floor_cpu_ms": floor_cpu,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
           "torch": torch.__version__, "peers": {}}
    print(f"calibration sgemm (torch.mm 4096x256x256): {gflops:.1f} GFLOP/s; network GEMM floor "
          f"(torch.mm, same shapes): {floor:.0f} ms wall, {floor_cpu:.0f} ms CPU ({flops / floor / 1e6:.1f} GFLOP/s)")
    for p, ts in times.items():
        med, medc = statistics.median(ts), statistics.median(cpus[p])
        res["peers"][p] = {"median_ms": med, "all_ms": ts, "median_cpu_ms": medc, "all_cpu_ms": cpus[p],
                           "gflops": flops / med / 1e6, "ratio_to_floor": med / floor}
        print(f"{p:7s} median {med:9.1f} ms wall, {medc:9.1f} ms CPU ({flops / med / 1e6:6.1f} GFLOP/s, "
              f"{med / floor:.2f}x GEMM floor)  runs {[round(t) for t in ts]}")
    print(f"peak RSS (this process, all peers): {res['peak_rss_mb']:.0f} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
