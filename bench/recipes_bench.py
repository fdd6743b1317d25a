"""The must-show tables of issue 13 on the synthetic world (SIMULATED teachers), through the
`ov3d` command line only: distilled 3D vs 2D fusion vs the 2D-3D ensemble on unseen rooms,
the ablations (single teacher / CUA-O3D learned σ / fixed equal weights; SAS capability vs mean
target; ± superpoint distillation; ± self-distillation), σ per teacher over epochs with a
deliberately noisier teacher, linear-probe mIoU, and wall time / peak RSS of every run.

    OV3D=.build/release/ov3d-tool python3 bench/recipes_bench.py --out /tmp/recipes-bench \
        [--epochs 6] [--train-seeds 201 202 203] [--held-seeds 301 302] [--threads 2]

Writes OUT/results.json and prints the markdown tables (docs/recipes.md "Results"). Small on
purpose (tiny rooms, 5 cm voxels, MinkUNet14A, a few epochs): the machine has 2 shared cores.
numpy only.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OV3D = os.environ.get("OV3D", ".build/release/ov3d-tool")


def sh(*args, log=None):
    t = time.time()
    p = subprocess.run([OV3D, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, args))}\n{p.stderr[-3000:]}")
    if log:
        Path(log).write_text(p.stdout + p.stderr)
    return p.stdout, time.time() - t


def make_room(d, seed, threads, noisy_sigma):
    r = d / f"room{seed}"
    if not (r / "superpoints.npy").exists():
        sh("synth", "--preset", "tiny", "--seed", seed, "--out", r, "--no-frame-features", "--threads", threads)
        for method, name in (("capability", "capability"), ("mean", "mean")):
            extra = ["--capabilities", r / "capabilities/table.npy"] if method == "capability" else []
            sh("agglomerate", "--teacher", r / "teachers/lseg.npy", "--teacher", r / "teachers/seem.npy",
               "--vocabulary", r / "vocabulary/embeddings.npy", "--method", method, *extra,
               "--out", r / f"teachers/{name}.npy", "--threads", threads)
        sh("superpoints", "--method", "vccs", "--quiet", "--out-ids", r / "superpoints.npy", r / "points.ply")
        # A deliberately noisier DINOv2-like teacher: its fused features plus Gaussian noise
        # (per-point, σ = noisy_sigma × the features' RMS), fixed seed.
        f = np.load(r / "teachers/dinov2.npy")
        rms = float(np.sqrt(np.mean(f[f.any(axis=1)] ** 2)))
        rng = np.random.default_rng(seed)
        noisy = f + rng.normal(0, noisy_sigma * rms, f.shape).astype(np.float32) * f.any(axis=1, keepdims=True)
        np.save(r / "teachers/dinov2_noisy.npy", noisy.astype(np.float32))
    return r


def run_train(out, name, cfg, log_dir):
    p = out / f"{name}.json"
    p.write_text(json.dumps(cfg, indent=1))
    summary = out / f"{name}.summary.json"
    stdout, secs = sh("train", "--config", p, "--json", "--quiet", "--summary", summary)
    steps = [json.loads(x) for x in stdout.splitlines() if x.strip()]
    return {"name": name, "steps": steps, "summary": json.loads(summary.read_text()), "wall": secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--loop", type=int, default=2)
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[201, 202, 203])
    ap.add_argument("--held-seeds", type=int, nargs="+", default=[301, 302])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--voxel", type=float, default=0.05)
    ap.add_argument("--arch", default="MinkUNet14A")
    ap.add_argument("--noisy-sigma", type=float, default=3.0)
    ap.add_argument("--only", nargs="*", default=None, help="run only these run names")
    ap.add_argument("--tables", nargs="*", default=None, help="only print the tables of these results.json files (merged)")
    a = ap.parse_args()
    if a.tables is not None:
        merged = {"runs": {}}
        for f in a.tables:
            r = json.loads(Path(f).read_text())
            merged["runs"].update(r.get("runs", {}))
            if "probe" in r:
                merged["probe"] = r["probe"]
        print(tables(merged))
        return
    out = Path(a.out).resolve()
    (out / "data").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train = [make_room(out / "data", s, a.threads, a.noisy_sigma) for s in a.train_seeds]
    held = [make_room(out / "data", s, a.threads, a.noisy_sigma) for s in a.held_seeds]
    data_secs = time.time() - t0
    dims = {"final": 512, "final_dinov2": np.load(train[0] / "teachers/dinov2.npy").shape[1],
            "final_sd": np.load(train[0] / "teachers/diffusion.npy").shape[1]}
    text = str(train[0] / "vocabulary/embeddings.npy")

    def evalcfg(fused, name):
        return {"every_epochs": 1, "modes": ["distill", "fusion", "ensemble"], "head": "final", "text": text,
                "voxel_size": a.voxel, "convention": "standard",
                "scenes": [{"points": str(h / "points.npy"), "labels": str(h / "labels.npy"),
                            "fused": str(h / f"teachers/{fused}.npy"), "fused_mask": str(h / "teachers/mask.npy")} for h in held],
                "best_out": str(out / f"{name}.best.safetensors"), "log": str(out / f"{name}.eval.jsonl")}

    def base(name, heads, targets, loss, recipe, fused, **kw):
        scenes = [{"points": str(r / "points.npy"), "mask": str(r / "teachers/mask.npy"),
                   "targets": {h: str(r / f"teachers/{targets[h]}.npy") for h in targets}} for r in train]
        cfg = {"model": {"architecture": a.arch, "in_channels": 3, "heads": {h: dims[h] for h in heads}},
               "data": {"scenes": scenes, "voxel_size": a.voxel, "batch_size": 1, "shuffle": True, "augment": True},
               "loss": loss, "optimizer": {"type": "adam", "lr": 0.001}, "schedule": {"type": "poly", "power": 0.9},
               "seed": 7, "threads": a.threads, "out": str(out / f"{name}.safetensors"),
               "recipe": {"epochs": a.epochs, "loop": a.loop, **recipe, "eval": evalcfg(fused, name)}}
        cfg.update(kw)
        return cfg

    cua_loss = {"final": {"type": "cosine"}, "final_dinov2": {"type": "cosine"}, "final_sd": {"type": "demeaned_cosine"}}
    three = ("final", "final_dinov2", "final_sd")
    sp = [str(r / "superpoints.npy") for r in train]
    runs = {
        "single_lseg": base("single_lseg", ("final",), {"final": "lseg"}, {"final": {"type": "cosine"}},
                            {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1]}, "lseg"),
        "cua_learned": base("cua_learned", three, {"final": "lseg", "final_dinov2": "dinov2", "final_sd": "diffusion"}, cua_loss,
                            {"type": "cua_o3d", "sigma_log": str(out / "cua_learned.sigma.jsonl")}, "lseg"),
        "cua_fixed": base("cua_fixed", three, {"final": "lseg", "final_dinov2": "dinov2", "final_sd": "diffusion"}, cua_loss,
                          {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1, 1, 1]}, "lseg"),
        "cua_noisy": base("cua_noisy", three, {"final": "lseg", "final_dinov2": "dinov2_noisy", "final_sd": "diffusion"}, cua_loss,
                          {"type": "cua_o3d", "sigma_log": str(out / "cua_noisy.sigma.jsonl")}, "lseg"),
        "sas1_capability": base("sas1_capability", ("final",), {"final": "capability"}, {"final": {"type": "cosine"}},
                                {"type": "sas_stage1", "superpoints": sp}, "capability"),
        "sas1_mean": base("sas1_mean", ("final",), {"final": "mean"}, {"final": {"type": "cosine"}},
                          {"type": "sas_stage1", "superpoints": sp}, "mean"),
        "point_capability": base("point_capability", ("final",), {"final": "capability"}, {"final": {"type": "cosine"}},
                                 {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1]}, "capability"),
    }
    s2 = base("sas2", ("final",), {}, {}, {"type": "sas_stage2", "superpoints": sp, "text": text,
                                           "epochs": max(1, a.epochs // 2)}, "capability")
    s2["model"]["init"] = str(out / "sas1_capability.safetensors")
    s2["optimizer"]["lr"] = 0.0001
    for sc in s2["data"]["scenes"]:
        sc.pop("mask"); sc.pop("targets")
    results = {"data_seconds": data_secs, "args": vars(a), "runs": {}}
    order = list(runs) + ["sas2"]
    for name in order:
        if a.only and name not in a.only:
            continue
        cfg = runs.get(name, s2)
        print(f"== {name}", file=sys.stderr, flush=True)
        results["runs"][name] = run_train(out, name, cfg, out)
        (out / "results.json").write_text(json.dumps(results, indent=1))
    # Linear probe of the CUA-O3D model on the training rooms, scored on the held-out rooms.
    if not a.only or "probe" in a.only:
        stdout, secs = sh("probe", "--checkpoint", out / "cua_learned.safetensors", *[x for r in train for x in ("--scene", r)],
                          *[x for h in held for x in ("--eval-scene", h)], "--classes", 20, "--epochs", 20, "--loop", 5,
                          "--batch-size", 2, "--lr", 0.01, "--threads", a.threads, "--out", out / "probe.safetensors", "--json")
        results["probe"] = {"records": [json.loads(x) for x in stdout.splitlines() if x.strip()], "wall": secs}
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(tables(results))


def last_eval(run):
    ev = [s for s in run["steps"] if "eval" in s]
    return ev[-1]["eval"] if ev else {}


def tables(res):
    R = res["runs"]
    L = []
    pct = lambda v: f"{100 * v:.1f}"
    L.append("| run | recipe | target(s) | epochs (steps) | 3D distilled mIoU / mAcc | 2D fusion mIoU | 2D-3D ensemble mIoU | best 3D (epoch) | wall s | peak RSS MiB |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    names = {"single_lseg": ("single teacher (point cosine)", "lseg"),
             "cua_learned": ("CUA-O3D, learned σ", "lseg + dinov2 + diffusion"),
             "cua_fixed": ("CUA-O3D, fixed equal weights", "lseg + dinov2 + diffusion"),
             "cua_noisy": ("CUA-O3D, learned σ, noisier dinov2", "lseg + dinov2(+noise) + diffusion"),
             "point_capability": ("point cosine only (no superpoint loss)", "capability-fused lseg+seem"),
             "sas1_capability": ("SAS stage 1 (point + superpoint)", "capability-fused lseg+seem"),
             "sas1_mean": ("SAS stage 1 (point + superpoint)", "mean of lseg+seem"),
             "sas2": ("SAS stage 2 (self-distillation) after stage 1", "EMA pseudo-labels")}
    for k, run in R.items():
        e = last_eval(run)
        s = run["summary"]
        if not e:
            continue
        L.append(f"| {k} | {names[k][0]} | {names[k][1]} | {s.get('epochs', '?')} ({s['steps']}) | {pct(e['distill']['miou'])} / {pct(e['distill']['macc'])} | "
                 f"{pct(e['fusion']['miou'])} | {pct(e['ensemble']['miou'])} | {pct(s.get('best_miou', 0))} ({s.get('best_epoch', 0)}) | "
                 f"{s['seconds']:.0f} | {s['peak_rss_bytes'] / 2**20:.0f} |")
    L.append("")
    for k in ("cua_learned", "cua_noisy"):
        if k not in R:
            continue
        L.append(f"σ per teacher at the end of each epoch — {k}:")
        L.append("")
        L.append("| epoch | σ lseg (final) | σ dinov2 (final_dinov2) | σ diffusion (final_sd) | loss lseg | loss dinov2 | loss diffusion |")
        L.append("|---|---|---|---|---|---|---|")
        by = {}
        for s in R[k]["steps"]:
            by[s["epoch"]] = s
        for ep, s in sorted(by.items()):
            sg, ls = s["sigma"], s["losses"]
            L.append(f"| {ep} | {sg['final']:.4f} | {sg['final_dinov2']:.4f} | {sg['final_sd']:.4f} | "
                     f"{ls['final']:.4f} | {ls['final_dinov2']:.4f} | {ls['final_sd']:.4f} |")
        L.append("")
    if "probe" in res:
        p = res["probe"]["records"][-1]
        L.append(f"Linear probe (final_seg_lseg on cua_learned's frozen `final`, 20 classes): held-out mIoU {pct(p['miou'])}, "
                 f"mAcc {pct(p['macc'])}, {p['steps']} steps, {p['seconds']:.0f} s, peak RSS {p['peak_rss_bytes'] / 2**20:.0f} MiB")
    return "\n".join(L)


if __name__ == "__main__":
    main()
