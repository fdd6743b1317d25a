"""A robot node in Python: the open-vocabulary loop over libov3d through the ctypes package.

A camera faces a wall above a floor (a toy world this script makes itself). Depth frames and a
2D model's feature maps are fused onto the robot's points online; the host's text embeddings
become a vocabulary; each point gets a word and a score, any word a heat-map; superpoints vote;
the result is scored against ground truth.

    pip install ./bindings/python
    OV3D_LIBRARY=.build/release/libov3d.so python3 examples/python/robot_node.py
"""
import numpy as np

import ov3d
from ov3d import fusion, pointcloud, text

W, H, FW, FH = 96, 72, 48, 36
FX = FY = 70.0
CX, CY = 47.5, 35.5
WALL_Z, FLOOR_Y = 3.0, 1.2  # camera frame: x right, y down, z forward


def render():
    """Depth (mm) and ground-truth labels (0 wall, 1 floor) of the toy world."""
    v, u = np.mgrid[0:H, 0:W]
    dy = (v - CY) / FY
    t_floor = np.where(dy > 1e-6, FLOOR_Y / np.maximum(dy, 1e-6), np.inf)
    label = (t_floor < WALL_Z).astype(np.int32)
    depth = np.where(label == 1, t_floor, WALL_Z)
    return np.round(depth * 1000).astype(np.uint16), label


def main():
    print("libov3d", ov3d.version())
    # The robot's cloud: wall and floor points with ground-truth labels.
    gx, gy = np.meshgrid(np.linspace(-1.9, 1.9, 40), np.linspace(-1.4, 1.1, 30))
    wall = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, WALL_Z)], 1)
    fx, fz = np.meshgrid(np.linspace(-1.5, 1.5, 40), np.linspace(1.5, 2.95, 40))
    floor = np.stack([fx.ravel(), np.full(fx.size, FLOOR_Y), fz.ravel()], 1)
    xyz = np.ascontiguousarray(np.concatenate([wall, floor]), dtype=np.float32)
    gt = np.concatenate([np.zeros(len(wall)), np.ones(len(floor))]).astype(np.int32)

    words = ["wall", "floor", "chair", "fire extinguisher"]
    embed = np.eye(4, dtype=np.float32)  # the host's text model output (any dimension works)
    depth, labels_2d = render()
    rng = np.random.default_rng(0)
    K = np.array([[FX, 0, CX], [0, FY, CY], [0, 0, 1]])
    with fusion.FusionSession(xyz, feature_dim=4, depth_size=(W, H), feature_size=(FW, FH),
                              visibility_threshold=0.05, cut_bound=2) as session:
        for frame in range(3):
            feats = embed[labels_2d[::2, ::2]] + 0.2 * (rng.random((FH, FW, 4), dtype=np.float32) - 0.5)
            seen = session.add_frame(depth, np.ascontiguousarray(feats, np.float32), K, np.eye(4))
            print(f"frame {frame}: {seen} of {len(xyz)} points visible")
        features, mask, _ = session.snapshot()

    with text.Vocabulary.from_embeddings(embed, names=words) as vocab:
        labels, scores = vocab.classify(features)
        heat = vocab.scores(features)[:, words.index("fire extinguisher")]
    print(f'"fire extinguisher": highest similarity {heat[mask == 1].max():.2f} (nothing like it in view)')

    with pointcloud.Cloud.from_arrays(xyz) as cloud:
        ids, n_seg = pointcloud.superpoints(cloud, method="graph")
    labels = np.where(mask == 1, labels, -1).astype(np.int32)
    seg_labels, _ = pointcloud.vote(ids, n_seg, labels, scores.astype(np.float32))
    voted = np.where((ids >= 0) & (seg_labels[np.maximum(ids, 0)] >= 0), seg_labels[np.maximum(ids, 0)], labels)
    voted = np.where(voted < 0, 255, voted).astype(np.int32)
    m = fusion.evaluate(voted, gt, num_classes=len(words))
    print(f"{n_seg} superpoints; mIoU {m['miou']:.3f} (wall {m['iou'][0]:.3f}, floor {m['iou'][1]:.3f})")
    return 0 if m["miou"] > 0.9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
