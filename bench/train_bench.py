#!/usr/bin/env python3
"""One MinkUNet18A training step (forward + backward + Adam, 512-d head, cosine loss) on the
~108k-voxel generated room: ov3d (`ov3d train`) vs PyTorch + spconv 2.3 on CPU training the same
network, interleaved, 1 and 2 threads; beside ov3d's own inference forward (`ov3d features`) on
the same voxels (backward costs about 2 forwards of GEMM work, so a step's floor is about 3x the
forward). Issue 11.

Every measurement is a separate process (peak memory = that process's ru_maxrss):
  * ov3d train: RUN.json with 2 steps (the first is a warm-up); the step time is the second
    step's "seconds" from `--json` (in-process, excluding start, model load and data load);
  * spconv: this script with --peer spconv: the network of tools/minkunet_common.py:build_spconv
    with BatchNorm1d in training mode, torch.optim.Adam, 2 steps, the second timed;
  * torch (optional, --peers spconv,torch): the plain-PyTorch gather-GEMM-scatter trainable
    network of tools/training_reference.py, likewise;
  * ov3d features --repeat 2 (inference forward, the second timed).
Same seeded weights (tools/minkunet_common.py:seeded_state_dict, no final bias), input features
ones, targets N x 512 (numpy seed 0), every row in the loss, Adam lr 1e-3. The step-1 losses of
every program are printed and compared (they all start from the same weights). Reported: median
step time (wall and CPU where known), voxels/s, ratios, peak RSS.

Requirements: a release build (`swift build -c release --product ov3d-tool`) and the venv of
tools/training_reference.py. Usage (shared machine: run under nice, at a quiet moment):
    nice .venv-tools/bin/python bench/train_bench.py --runs 2 --json /tmp/train_bench.json
    ... --threads 1 --runs 1                       # quick
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

HEAD = 512
LR = 1e-3


SIZES = {"room": 1.0, "quarter": 0.25}


def prepare(workdir, size="room"):
    """Room voxels, features, targets, weights and the RUN.json template in workdir/size.
    `room`: the whole generated room (~108k voxels); `quarter`: the voxels of its lowest-x quarter
    (a crop: same surface density, ~27k voxels)."""
    import numpy as np
    from make_room import make_room_points
    import minkunet_fixture as mf
    from minkunet_common import arch, save_safetensors, seeded_state_dict
    d = os.path.join(workdir, size)
    os.makedirs(d, exist_ok=True)
    c_path = os.path.join(d, "c.npy")
    if not os.path.exists(os.path.join(d, "ready")):
        coords, _, _ = mf.voxelize(make_room_points(seed=7), 0.02)
        frac = SIZES[size]
        if frac < 1:
            cut = np.quantile(coords[:, 0], frac)
            coords = coords[coords[:, 0] <= cut]
            coords = coords - coords.min(0)
        np.save(c_path, coords.astype(np.int32))
        n = len(coords)
        np.save(os.path.join(d, "f.npy"), np.ones((n, 3), np.float32))
        np.save(os.path.join(d, "t.npy"), np.random.default_rng(0).standard_normal((n, HEAD), dtype=np.float32))
        save_safetensors(os.path.join(d, "init.safetensors"), seeded_state_dict(arch("18A", (("final", HEAD),))))
        open(os.path.join(d, "ready"), "w").write("ok\n")
    return d, int(np.load(c_path, mmap_mode="r").shape[0])


def run_config(workdir, threads):
    cfg = {"model": {"architecture": "MinkUNet18A", "in_channels": 3, "heads": {"final": HEAD}, "final_bias": False,
                     "init": "init.safetensors"},
           "data": {"scenes": [{"coords": "c.npy", "features": "f.npy", "targets": {"final": "t.npy"}}],
                    "batch_size": 1, "shuffle": False, "augment": False},
           "loss": {"final": {"type": "cosine", "weight": 1.0}},
           "optimizer": {"type": "adam", "lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0},
           "schedule": {"type": "constant"}, "steps": 2, "seed": 0, "threads": threads}
    path = os.path.join(workdir, f"RUN_t{threads}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def run_measured(cmd, env=None):
    """Runs cmd as a child and returns (stdout lines, stderr, peak RSS MB, user+sys CPU s) of that
    one process, from os.wait4."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # read both pipes fully (the child may write a lot to stderr: the progress bar)
    import threading
    bufs = {"out": [], "err": []}

    def pump(stream, key):
        bufs[key].append(stream.read())
    ts = [threading.Thread(target=pump, args=(p.stdout, "out")), threading.Thread(target=pump, args=(p.stderr, "err"))]
    for t in ts:
        t.start()
    _, status, ru = os.wait4(p.pid, 0)
    for t in ts:
        t.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    out, err = "".join(bufs["out"]), "".join(bufs["err"])
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))} failed ({p.returncode}): {err[-3000:]}")
    return out.splitlines(), err, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime


def measure_ov3d_train(tool, workdir, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    lines, err, peak, cpu = run_measured([tool, "train", "--config", run_config(workdir, threads), "--json"], env)
    recs = [json.loads(x) for x in lines if x.startswith("{")]
    if len(recs) != 2:
        raise SystemExit(f"ov3d train printed {len(recs)} records: {err[-2000:]}")
    r = {"step_ms": recs[1]["seconds"] * 1e3, "first_step_ms": recs[0]["seconds"] * 1e3, "loss1": recs[0]["total"],
         "loss2": recs[1]["total"], "peak_mb": peak, "process_cpu_s": cpu}
    if "cpu_seconds" in recs[1]:
        r["cpu_ms"] = recs[1]["cpu_seconds"] * 1e3
    return r


def measure_ov3d_forward(tool, workdir, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    out = os.path.join(workdir, "fwd_out.npy")
    lines, err, peak, cpu = run_measured([tool, "features", "--checkpoint", os.path.join(workdir, "init.safetensors"),
                                          "--voxel-coords", os.path.join(workdir, "c.npy"), "--out", out,
                                          "--threads", str(threads), "--repeat", "2"], env)
    st = json.loads(err.strip().splitlines()[-1])
    return {"step_ms": st["ms"][-1], "cpu_ms": st["cpu_ms"][-1], "peak_mb": peak}


def measure_peer(peer, workdir, threads):
    lines, err, peak, cpu = run_measured([sys.executable, os.path.abspath(__file__), "--peer", peer, "--workdir", workdir,
                                          "--threads", str(threads)],
                                         dict(os.environ, OMP_NUM_THREADS=str(threads)))
    r = json.loads(lines[-1])
    r["peak_mb"] = peak
    return r


# ----------------------------------------------------------------------------------------------
# Peers (run in their own process)
# ----------------------------------------------------------------------------------------------
def peer_main(peer, workdir, threads):
    import numpy as np
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    coords = np.load(os.path.join(workdir, "c.npy")).astype(np.int64)
    feats = torch.from_numpy(np.load(os.path.join(workdir, "f.npy")))
    target = torch.from_numpy(np.load(os.path.join(workdir, "t.npy")))
    from minkunet_common import arch, load_state_dict
    sd = load_state_dict(os.path.join(workdir, "init.safetensors"))
    a = arch("18A", (("final", HEAD),))
    if peer == "spconv":
        import spconv.pytorch.ops as spops
        from minkunet_common import build_spconv
        from training_reference import spconv_batch_input
        if not torch.cuda.is_available():
            spops.get_current_stream = lambda: 0      # spconv 2.3.8's CPU backward (see training_reference.py)
        net = build_spconv(a, sd)
        net.train()
        c4 = np.concatenate([np.zeros((len(coords), 1), np.int64), coords], 1)

        def forward():
            return net(spconv_batch_input(c4, feats))["final"]
    elif peer == "torch":
        from training_reference import BatchCoordinates, DisNet
        net = DisNet(a, False)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
        net.train()
        c4 = np.concatenate([np.zeros((len(coords), 1), np.int64), coords], 1)

        def forward():
            return net(feats, BatchCoordinates(c4))["final"]   # kernel maps built inside the step, as ov3d does
    else:
        raise SystemExit(f"unknown peer {peer}")
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
    times, losses = [], []
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=False)
        out = forward()
        loss = (1 - F.cosine_similarity(out, target, dim=1, eps=1e-8)).mean()
        loss.backward()
        opt.step()
        times.append(((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3))
        losses.append(float(loss.detach()))
    print(json.dumps({"step_ms": times[1][0], "cpu_ms": times[1][1], "first_step_ms": times[0][0], "loss1": losses[0],
                      "loss2": losses[1]}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default=None, help="ov3d-tool binary (default: .build/release/ov3d-tool)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--peers", default="spconv")
    ap.add_argument("--sizes", default="room,quarter", help="room (~108k voxels), quarter (its lowest-x quarter)")
    ap.add_argument("--workdir")
    ap.add_argument("--json")
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        peer_main(args.peer, args.workdir, int(args.threads))
        return
    tool = args.tool or os.path.join(ROOT, ".build", "release", "ov3d-tool")
    if not os.path.exists(tool):
        raise SystemExit(f"{tool} not found: swift build -c release --product ov3d-tool")
    wd = args.workdir or tempfile.mkdtemp(prefix="ov3d-train-bench-")
    os.makedirs(wd, exist_ok=True)
    peers = [p for p in args.peers.split(",") if p]
    results = []
    for size in [x for x in args.sizes.split(",") if x]:
        d, n = prepare(wd, size)
        print(f"input {size}: generated room (bench/make_room.py seed 7{'' if size == 'room' else ', lowest-x quarter'}), "
              f"{n} voxels at 2 cm; MinkUNet18A, head final {HEAD}, Adam lr {LR}, cosine loss on every row; "
              f"one step = forward + backward + Adam", flush=True)
        for threads in [int(t) for t in args.threads.split(",")]:
            t = {"ov3d_train": [], "ov3d_forward": []}
            t.update({p: [] for p in peers})
            for r in range(args.runs):
                t["ov3d_train"].append(measure_ov3d_train(tool, d, threads))
                for p in peers:
                    t[p].append(measure_peer(p, d, threads))
                t["ov3d_forward"].append(measure_ov3d_forward(tool, d, threads))
                print(f"  [{size}, {threads} thread(s), round {r + 1}] " + ", ".join(
                    f"{k} {v[-1]['step_ms']:.0f} ms ({v[-1]['peak_mb']:.0f} MB)" for k, v in t.items()), flush=True)
            row = {"size": size, "threads": threads, "voxels": n, "runs": t,
                   "median_ms": {k: statistics.median(x["step_ms"] for x in v) for k, v in t.items()},
                   "median_cpu_ms": {k: statistics.median(x["cpu_ms"] for x in v) for k, v in t.items() if "cpu_ms" in v[0]},
                   "peak_mb": {k: statistics.median(x["peak_mb"] for x in v) for k, v in t.items()},
                   "loss1": {k: v[0]["loss1"] for k, v in t.items() if "loss1" in v[0]}}
            results.append(row)
            base = row["median_ms"]["ov3d_train"]
            print(f"[{size}, {threads} thread(s)] step-1 losses: " + ", ".join(f"{k} {v:.7f}" for k, v in row["loss1"].items()))
            for k, ms in row["median_ms"].items():
                print(f"  {k:13s} median {ms:8.0f} ms ({'step' if k != 'ov3d_forward' else 'forward'}), "
                      f"{n / ms * 1e3:9.0f} voxels/s, x{ms / base:5.2f} of ov3d's step, peak RSS {row['peak_mb'][k]:6.0f} MB", flush=True)
            for p in peers:
                print(f"  {p} / ov3d step time: x{row['median_ms'][p] / base:.2f}; peak RSS ov3d / {p}: "
                      f"x{row['peak_mb']['ov3d_train'] / row['peak_mb'][p]:.2f}")
            print(f"  ov3d step / ov3d forward: x{base / row['median_ms']['ov3d_forward']:.2f} (GEMM floor about x3)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
