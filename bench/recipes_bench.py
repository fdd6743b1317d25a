"""The must-show tables of issue 13 (SIMULATED teachers), through the `ov3d` command line only:
distilled 3D vs 2D fusion vs the 2D-3D ensemble on unseen scenes, the ablations (single teacher /
CUA-O3D learned σ / fixed equal weights; SAS capability vs mean target; ± superpoint
distillation; ± self-distillation), σ per teacher over epochs with a deliberately noisier teacher,
linear-probe mIoU, and wall time / CPU time / peak RSS / machine load of every run. Two datasets:

- `synthetic`: `ov3d synth --preset tiny` rooms (train seeds, held-out seeds), all four teachers;
- `scannet`: real ScanNet geometry and labels (`../shared/data/scannet_votenet50k`, exported by
  `ov3d synth --scannet-scene`) with all four teachers SIMULATED at point level (lseg, seem and the
  DINOv2-/diffusion-like `teachers/dinov2.npy` 64-d, `teachers/diffusion.npy` 256-d), so the
  CUA-O3D rows run there too (the noisier dinov2 with --noisy-sigma, seeded per scene).

    OV3D=.build/release/ov3d-tool python3 bench/recipes_bench.py --out /tmp/recipes-bench \
        --dataset synthetic [--epochs 6] [--lr 1e-3] [--final-bias] [--runs single_lseg sas1_capability ...]
    python3 bench/recipes_bench.py --tables OUT/results.json [more.json ...]   # merge and print

Writes OUT/results.json (merged with what is already there) and prints the markdown tables
(docs/recipes.md "Results"). Small on purpose (tiny rooms, coarse voxels, MinkUNet14A, a few
epochs): the machine has 2 shared cores. `--parallel 2` runs two trainings at once with one
thread each. numpy only.
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

OV3D = os.environ.get("OV3D", ".build/release/ov3d-tool")
SHARED = Path(os.environ.get("OV3D_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def sh(*args, log=None):
    t = time.time()
    p = subprocess.run([OV3D, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, args))}\n{p.stderr[-3000:]}")
    if log:
        Path(log).write_text(p.stdout + p.stderr)
    return p.stdout, time.time() - t


def finish_scene(r, threads, noisy_sigma, seed):
    """Agglomerations (capability, mean; plain and centred), VCCS superpoints, and a noisier
    DINOv2-like teacher."""
    for method in ("capability", "mean"):
        extra = ["--capabilities", r / "capabilities/table.npy"] if method == "capability" else []
        for centre in ((), ("--centre",)):
            sh("agglomerate", "--teacher", r / "teachers/lseg.npy", "--teacher", r / "teachers/seem.npy",
               "--vocabulary", r / "vocabulary/embeddings.npy", "--method", method, *extra, *centre,
               "--out", r / f"teachers/{method}{'_centred' if centre else ''}.npy", "--threads", threads)
    # the single teacher's targets, centred (`--centre` runs)
    sh("agglomerate", "--teacher", r / "teachers/lseg.npy", "--vocabulary", r / "vocabulary/embeddings.npy",
       "--method", "mean", "--centre", "--out", r / "teachers/lseg_centred.npy", "--threads", threads)
    sh("superpoints", "--method", "vccs", "--quiet", "--out-ids", r / "superpoints.npy", r / "points.ply")
    if (r / "teachers/dinov2.npy").exists():
        # A deliberately noisier DINOv2-like teacher: its fused features plus Gaussian noise
        # (per-point, σ = noisy_sigma × the features' RMS), fixed seed.
        f = np.load(r / "teachers/dinov2.npy")
        rms = float(np.sqrt(np.mean(f[f.any(axis=1)] ** 2)))
        rng = np.random.default_rng(seed)
        noisy = f + rng.normal(0, noisy_sigma * rms, f.shape).astype(np.float32) * f.any(axis=1, keepdims=True)
        np.save(r / "teachers/dinov2_noisy.npy", noisy.astype(np.float32))


def make_room(d, seed, threads, noisy_sigma, preset):
    r = d / f"{preset}{seed}"
    if not (r / "teachers/lseg_centred.npy").exists():
        sh("synth", "--preset", preset, "--seed", seed, "--out", r, "--no-frame-features", "--threads", threads)
        finish_scene(r, threads, noisy_sigma, seed)
    return r


def make_scannet(d, threads, noisy_sigma):
    """Every scene of scannet_votenet50k as a scene folder (real geometry, SIMULATED teachers)."""
    src = SHARED / "scannet_votenet50k"
    if not src.exists():
        sys.exit(f"{src} not found: the scannet rows need ../shared/data")
    out = d / "scannet"
    names = sorted(p.name[:-len("_vert.npy")] for p in src.glob("*_vert.npy"))
    # (folders exported before the point-level dinov2/diffusion teachers existed are redone)
    if not all((out / n / "teachers/lseg_centred.npy").exists() and (out / n / "teachers/dinov2_noisy.npy").exists() for n in names):
        sh("synth", "--scannet-scene", src, "--out", out, "--seed", 1, "--threads", threads, log=d / "scannet_synth.log")
        for i, n in enumerate(names):
            finish_scene(out / n, threads, noisy_sigma, 1000 + i)
    return [out / n for n in names]


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def run_train(out, name, cfg):
    p = out / f"{name}.json"
    p.write_text(json.dumps(cfg, indent=1))
    summary = out / f"{name}.summary.json"
    l0 = loadavg()
    stdout, secs = sh("train", "--config", p, "--json", "--quiet", "--summary", summary)
    steps = [json.loads(x) for x in stdout.splitlines() if x.strip()]
    return {"name": name, "steps": steps, "summary": json.loads(summary.read_text()), "wall": secs,
            "cpu": sum(s.get("cpu_seconds", 0) for s in steps), "load": [l0, loadavg()],
            "config": {k: cfg[k] for k in ("optimizer", "schedule", "seed", "threads")} | {
                "centred": cfg["recipe"].get("eval", {}).get("centred", False),
                "voxel_size": cfg["data"]["voxel_size"], "batch_size": cfg["data"]["batch_size"],
                "crop_points": cfg["data"].get("crop_points"), "final_bias": cfg["model"].get("final_bias", False),
                "architecture": cfg["model"]["architecture"]}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=False)
    ap.add_argument("--dataset", choices=["synthetic", "scannet"], default="synthetic")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--loop", type=int, default=2)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[201, 202, 203])
    ap.add_argument("--held-seeds", type=int, nargs="+", default=[301, 302])
    ap.add_argument("--scannet-held", type=int, default=2, help="the last N scannet scenes are held out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=1, help="trainings at once (each with --threads)")
    ap.add_argument("--voxel", type=float, default=0.05)
    ap.add_argument("--arch", default="MinkUNet14A")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--stage2-lr", type=float, default=None, help="default: lr / 10")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--crop", type=int, default=0, help="data.crop_points (0: none)")
    ap.add_argument("--max-rows", type=int, default=None, help="recipe.max_rows (SAS; default: released 20000)")
    ap.add_argument("--final-bias", action="store_true", help="model.final_bias (OpenScene's MinkUNet final conv has one)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tag", default="", help="suffix of every run name (sweeps)")
    ap.add_argument("--noisy-sigma", type=float, default=3.0)
    ap.add_argument("--centre", action="store_true",
                    help="train the text-space head on centred targets (`ov3d agglomerate --centre`: t/|t| - mean class embedding)")
    ap.add_argument("--eval-every", type=int, default=1, help="recipe.eval.every_epochs")
    ap.add_argument("--runs", nargs="*", default=None, help="only these run names (and probe_<run>)")
    ap.add_argument("--tables", nargs="*", default=None, help="only print the tables of these results.json files (merged)")
    a = ap.parse_args()
    if a.tables is not None:
        merged = {"runs": {}, "probes": {}}
        for f in a.tables:
            r = json.loads(Path(f).read_text())
            merged["runs"].update(r.get("runs", {}))
            merged["probes"].update(r.get("probes", {}))
        print(tables(merged))
        return
    out = Path(a.out).resolve()
    (out / "data").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if a.dataset == "synthetic":
        train = [make_room(out / "data", s, a.threads, a.noisy_sigma, a.preset) for s in a.train_seeds]
        held = [make_room(out / "data", s, a.threads, a.noisy_sigma, a.preset) for s in a.held_seeds]
    else:
        allsc = make_scannet(out / "data", a.threads, a.noisy_sigma)
        train, held = allsc[:-a.scannet_held], allsc[-a.scannet_held:]
    data_secs = time.time() - t0
    ds = "syn" if a.dataset == "synthetic" else "scn"
    dims = {"final": 512}
    if (train[0] / "teachers/dinov2.npy").exists():
        dims["final_dinov2"] = np.load(train[0] / "teachers/dinov2.npy", mmap_mode="r").shape[1]
        dims["final_sd"] = np.load(train[0] / "teachers/diffusion.npy", mmap_mode="r").shape[1]
    text = str(train[0] / "vocabulary/embeddings.npy")
    threads = a.threads

    def evalcfg(fused, name):
        return {"every_epochs": a.eval_every, "modes": ["distill", "fusion", "ensemble", "ensemble_average"], "head": "final",
                "text": text, "voxel_size": a.voxel, "convention": "standard", "centred": a.centre,
                "scenes": [{"points": str(h / "points.npy"), "labels": str(h / "labels.npy"),
                            "fused": str(h / f"teachers/{fused}.npy"), "fused_mask": str(h / "teachers/mask.npy")} for h in held],
                "best_out": str(out / f"{name}.best.safetensors"), "log": str(out / f"{name}.eval.jsonl")}

    def base(name, heads, targets, loss, recipe, fused):
        # centred runs: the text-space head `final` learns t/|t| - mean (the others are not text-aligned)
        cen = lambda h: "_centred" if a.centre and h == "final" else ""
        scenes = [{"points": str(r / "points.npy"), "mask": str(r / "teachers/mask.npy"),
                   "targets": {h: str(r / f"teachers/{targets[h]}{cen(h)}.npy") for h in targets}} for r in train]
        data = {"scenes": scenes, "voxel_size": a.voxel, "batch_size": a.batch, "shuffle": True, "augment": True}
        if a.crop:
            data["crop_points"] = a.crop
        model = {"architecture": a.arch, "in_channels": 3, "heads": {h: dims[h] for h in heads}}
        if a.final_bias:
            model["final_bias"] = True
        rec = {"epochs": a.epochs, "loop": a.loop, **recipe, "eval": evalcfg(fused, name)}
        if a.max_rows is not None and rec["type"].startswith("sas"):
            rec["max_rows"] = a.max_rows
        return {"model": model, "data": data, "loss": loss, "optimizer": {"type": "adam", "lr": a.lr},
                "schedule": {"type": "poly", "power": 0.9}, "seed": a.seed, "threads": threads,
                "out": str(out / f"{name}.safetensors"), "recipe": rec}

    T = a.tag
    cua_loss = {"final": {"type": "cosine"}, "final_dinov2": {"type": "cosine"}, "final_sd": {"type": "demeaned_cosine"}}
    three = ("final", "final_dinov2", "final_sd")
    sp = [str(r / "superpoints.npy") for r in train]
    runs = {
        "single_lseg": base(f"{ds}_single_lseg{T}", ("final",), {"final": "lseg"}, {"final": {"type": "cosine"}},
                            {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1]}, "lseg"),
        "sas1_capability": base(f"{ds}_sas1_capability{T}", ("final",), {"final": "capability"}, {"final": {"type": "cosine"}},
                                {"type": "sas_stage1", "superpoints": sp}, "capability"),
        "sas1_mean": base(f"{ds}_sas1_mean{T}", ("final",), {"final": "mean"}, {"final": {"type": "cosine"}},
                          {"type": "sas_stage1", "superpoints": sp}, "mean"),
        "point_capability": base(f"{ds}_point_capability{T}", ("final",), {"final": "capability"}, {"final": {"type": "cosine"}},
                                 {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1]}, "capability"),
    }
    if "final_dinov2" in dims:
        tgt = {"final": "lseg", "final_dinov2": "dinov2", "final_sd": "diffusion"}
        runs["cua_learned"] = base(f"{ds}_cua_learned{T}", three, tgt, cua_loss,
                                   {"type": "cua_o3d", "sigma_log": str(out / f"{ds}_cua_learned{T}.sigma.jsonl")}, "lseg")
        runs["cua_fixed"] = base(f"{ds}_cua_fixed{T}", three, tgt, cua_loss,
                                 {"type": "cua_o3d", "uncertainty": "fixed", "fixed_weights": [1, 1, 1]}, "lseg")
        runs["cua_noisy"] = base(f"{ds}_cua_noisy{T}", three, dict(tgt, final_dinov2="dinov2_noisy"), cua_loss,
                                 {"type": "cua_o3d", "sigma_log": str(out / f"{ds}_cua_noisy{T}.sigma.jsonl")}, "lseg")
    s2 = base(f"{ds}_sas2{T}", ("final",), {}, {}, {"type": "sas_stage2", "superpoints": sp, "text": text,
                                                    "epochs": max(1, a.epochs // 2)}, "capability")
    s2["model"]["init"] = str(out / f"{ds}_sas1_capability{T}.safetensors")
    s2["optimizer"]["lr"] = a.stage2_lr or a.lr / 10
    for sc in s2["data"]["scenes"]:
        sc.pop("mask"); sc.pop("targets")
    resf = out / "results.json"

    def save(kind, name, value):
        # Several bench processes may share OUT: every run also has its own file, and
        # results.json is re-read and merged at each write.
        (out / f"{name}.{kind}.result.json").write_text(json.dumps(value))
        cur = json.loads(resf.read_text()) if resf.exists() else {}
        cur.setdefault("runs", {}); cur.setdefault("probes", {})
        cur[kind][name] = value
        tmp = out / f"results.json.{os.getpid()}"
        tmp.write_text(json.dumps(cur, indent=1))
        tmp.replace(resf)
        return cur
    wanted = [k for k in a.runs if k in runs or k == "sas2"] if a.runs else list(runs) + ["sas2"]   # in the order given

    def one(key):
        cfg = runs.get(key, s2)
        name = Path(cfg["out"]).name[:-len(".safetensors")]
        print(f"== {name} (load {loadavg()})", file=sys.stderr, flush=True)
        r = run_train(out, name, cfg)
        r.update(dataset=a.dataset, key=key, tag=T)
        return name, r

    first = [k for k in wanted if k != "sas2"]
    with cf.ThreadPoolExecutor(max_workers=a.parallel) as ex:
        for name, r in ex.map(one, first):
            r["data_seconds"] = data_secs
            save("runs", name, r)
    if "sas2" in wanted:
        name, r = one("sas2")
        save("runs", name, r)
    # Linear probes (CUA-O3D's final_seg_lseg on the frozen `final`) of the chosen runs, trained
    # on the training scenes and scored on the held-out scenes.
    for key in (a.runs or []):
        if not key.startswith("probe_"):
            continue
        src = f"{ds}_{key[len('probe_'):]}{T}"
        l0 = loadavg()
        stdout, secs = sh("probe", "--checkpoint", out / f"{src}.safetensors", *[x for r in train for x in ("--scene", r)],
                          *[x for h in held for x in ("--eval-scene", h)], "--classes", 20, "--epochs", 20, "--loop", 5,
                          "--batch-size", 2, "--lr", 0.01, "--threads", threads, "--voxel-size", a.voxel,
                          "--out", out / f"{src}.probe.safetensors", "--json")
        save("probes", src, {"records": [json.loads(x) for x in stdout.splitlines() if x.strip()], "wall": secs,
                             "dataset": a.dataset, "load": [l0, loadavg()]})
    print(tables(json.loads(resf.read_text()) if resf.exists() else {"runs": {}}))


def last_eval(run):
    ev = [s for s in run["steps"] if "eval" in s]
    return ev[-1]["eval"] if ev else {}


NAMES = {"single_lseg": ("single teacher (point cosine)", "lseg"),
         "cua_learned": ("CUA-O3D, learned σ", "lseg + dinov2 + diffusion"),
         "cua_fixed": ("CUA-O3D, fixed equal weights", "lseg + dinov2 + diffusion"),
         "cua_noisy": ("CUA-O3D, learned σ, noisier dinov2", "lseg + dinov2(+noise) + diffusion"),
         "point_capability": ("point cosine only (no superpoint loss)", "capability-fused lseg+seem"),
         "sas1_capability": ("SAS stage 1 (point + superpoint)", "capability-fused lseg+seem"),
         "sas1_mean": ("SAS stage 1 (point + superpoint)", "mean of lseg+seem"),
         "sas2": ("SAS stage 2 (self-distillation) after stage 1", "EMA pseudo-labels")}


def tables(res):
    R = res["runs"]
    L = []
    pct = lambda v: f"{100 * v:.1f}"
    groups = {}
    for k, run in R.items():
        groups.setdefault(run.get("dataset", "synthetic"), []).append((k, run))
    for ds, items in groups.items():
        L.append(f"{'Synthetic rooms' if ds == 'synthetic' else 'Real ScanNet geometry, SIMULATED point-level teachers'}:")
        L.append("")
        L += table_rows(items)
        L.append("")
    return "\n".join(L + sigma_and_probes(res))


def table_rows(items):
    pct = lambda v: f"{100 * v:.1f}"
    L = ["| run | recipe | target(s) | centred | epochs (steps) | lr, bias | 3D distilled mIoU / mAcc | 2D fusion mIoU | 2D-3D ensemble mIoU (max score / average) | best 3D (epoch) | wall s | CPU s (steps) | peak RSS MiB | load (1 min, start–end) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k, run in items:
        e = last_eval(run)
        s = run["summary"]
        if not e:
            continue
        key = run.get("key") or k
        c = run.get("config", {})
        lr = c.get("optimizer", {}).get("lr", "?")
        load = run.get("load")
        avg = f" / {pct(e['ensemble_average']['miou'])}" if "ensemble_average" in e else ""
        L.append(f"| {k} | {NAMES.get(key, (key,))[0]} | {NAMES.get(key, ('', ''))[1]} | {'yes' if c.get('centred') else 'no'} | "
                 f"{s.get('epochs', '?')} ({s['steps']}) | "
                 f"{lr:g}, {'yes' if c.get('final_bias') else 'no'} | {pct(e['distill']['miou'])} / {pct(e['distill']['macc'])} | "
                 f"{pct(e['fusion']['miou'])} | {pct(e['ensemble']['miou'])}{avg} | {pct(s.get('best_miou', 0))} ({s.get('best_epoch', 0)}) | "
                 f"{s['seconds']:.0f} | {run.get('cpu', 0):.0f} | {s['peak_rss_bytes'] / 2**20:.0f} | "
                 f"{'–'.join(f'{x[0]:.0f}' for x in load) if load else '?'} |")
    return L


def sigma_and_probes(res):
    R = res["runs"]
    pct = lambda v: f"{100 * v:.1f}"
    L = []
    for k, run in R.items():
        if run.get("key", k) not in ("cua_learned", "cua_noisy"):
            continue
        L.append(f"σ per teacher at the end of each epoch — {k}:")
        L.append("")
        L.append("| epoch | σ lseg (final) | σ dinov2 (final_dinov2) | σ diffusion (final_sd) | loss lseg | loss dinov2 | loss diffusion | 3D mIoU |")
        L.append("|---|---|---|---|---|---|---|---|")
        by = {}
        for s in run["steps"]:
            by[s["epoch"]] = s
        evs = {s["epoch"]: s["eval"] for s in run["steps"] if "eval" in s}
        for ep, s in sorted(by.items()):
            sg, ls = s["sigma"], s["losses"]
            m = pct(evs[ep]["distill"]["miou"]) if ep in evs else ""
            L.append(f"| {ep} | {sg['final']:.4f} | {sg['final_dinov2']:.4f} | {sg['final_sd']:.4f} | "
                     f"{ls['final']:.4f} | {ls['final_dinov2']:.4f} | {ls['final_sd']:.4f} | {m} |")
        L.append("")
    for k, p in res.get("probes", {}).items():
        r = p["records"][-1]
        L.append(f"Linear probe of {k} (final_seg_lseg on the frozen `final`, 20 classes): held-out mIoU {pct(r['miou'])}, "
                 f"mAcc {pct(r['macc'])}, {r['steps']} steps, {r['seconds']:.0f} s, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB")
    return L


if __name__ == "__main__":
    main()
