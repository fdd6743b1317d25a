#!/usr/bin/env bash
# Benchmark: loading a full-size MinkUNet18A checkpoint (real torch.save, ~62 MB; generated into a
# temporary directory, never committed) vs reading its bytes from disk, in the same run.
#   PYTHON=/path/to/venv/bin/python bash bench/checkpoint/run.sh [runs] [--optimizer]
# PYTHON must have torch (see make_18a_checkpoint.py for the pinned install). Reports medians and
# minima of: FileIO.read (the repo's whole-file read), read(2) into a reused pre-faulted buffer
# (the fastest possible read), CheckpointReader.load (zip + pickle + CRC-32 of every byte), and a
# load without CRC that touches every page. Goal: load < 2x the read.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-7}"; shift || true
PY="${PYTHON:-python3}"
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
"$PY" bench/checkpoint/make_18a_checkpoint.py "$TMP/model_best.pth.tar" "$@"
swift build -c release --product ov3d-tool >/dev/null
BIN="$(swift build -c release --show-bin-path)/ov3d-tool"
"$BIN" inspect "$TMP/model_best.pth.tar" --limit 3 | head -12
nice "$BIN" inspect "$TMP/model_best.pth.tar" --benchmark "$RUNS"
