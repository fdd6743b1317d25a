#!/usr/bin/env bash
# make fuzz SECONDS=N (issue 17): builds the libFuzzer executables (fuzz/build.sh: fuzz/parser-fuzzer,
# every Swift ParserTarget under -sanitize=fuzzer,address; fuzz/png-fuzzer, the C PNG wrapper under
# -fsanitize=fuzzer,address,undefined) and runs every target for N seconds from the committed seeds
# (Tests/Fixtures/hostile/seeds) and regression inputs; corpora are kept in .build/fuzz/<target>.
# Prints executions, coverage and features per target; exits non-zero when a target crashed (its
# input is saved as .build/fuzz/crash-<target>-*: fix the library, then put the input in
# Tests/Fixtures/hostile/regressions/<target>/ — for pointcloud without the first byte, named
# .ply/.pcd/.npy, see ParserFuzzTests.regressions).
# Environment: FUZZ_TARGETS (default: all), FUZZ_JOBS=N (targets run N at a time, default 1),
# FUZZ_REBUILD=1 (rebuild even when the executables exist), FUZZ_ARGS (extra libFuzzer flags),
# OUT_DIR (where the executables are, default fuzz/), FUZZ_OPT (fuzz/build.sh's optimisation),
# FUZZ_WORK (corpora, logs and crashes, default .build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
ALL="npy pointcloud checkpoint vocabulary png json manifest png-c"
TARGETS="${FUZZ_TARGETS:-$ALL}"
JOBS="${FUZZ_JOBS:-1}"
BIN=${OUT_DIR:-fuzz}
need=""; for t in $TARGETS; do [ "$t" = png-c ] && need="$need png-fuzzer" || need="$need parser-fuzzer"; done
missing=""; for e in $need; do [ -x "$BIN/$e" ] || missing=1; done
if [ -n "${FUZZ_REBUILD:-}" ] || [ -n "$missing" ]; then
  tb=$SECONDS; OUT_DIR=$BIN bash fuzz/build.sh; echo "fuzz build: $((SECONDS - tb)) s"
fi
declare -A SEEDS=([npy]=npy [pointcloud]="pcd ply npy" [checkpoint]=checkpoint [vocabulary]=vocab [png]=png [json]=json [manifest]=json [png-c]=png)
H=Tests/Fixtures/hostile
WORK=${FUZZ_WORK:-.build/fuzz}
mkdir -p "$WORK"

# The pointcloud target reads its first byte as the file name (ParserTarget.run: 0 .ply, 1 .pcd,
# 2 .npy, 3 .bin, 4 .pcd.bin): its seeds get that byte in front, as in ParserFuzzTests.
seed_dirs() { # seed_dirs <target>: directories libFuzzer reads the initial inputs from
  local t=$1 s d
  if [ "$t" = pointcloud ]; then
    d=$WORK/seeds-pointcloud
    rm -rf "$d"; mkdir -p "$d"
    for f in $H/seeds/pcd/* $H/seeds/ply/* $H/seeds/npy/* $H/regressions/pointcloud/*; do
      [ -f "$f" ] || continue
      case "$f" in *.ply) b='\000' ;; *.pcd) b='\001' ;; *) b='\002' ;; esac
      { printf "$b"; cat "$f"; } > "$d/$(basename "$f")"
    done
    echo "$d"
    return
  fi
  for s in ${SEEDS[$t]}; do echo "$H/seeds/$s"; done
  local r=$H/regressions/${t%-c}
  [ -d "$r" ] && echo "$r"
  return 0
}

run_target() { # run_target <target>: one libFuzzer run, prints one summary line
  local t=$1 exe=$BIN/parser-fuzzer log=$WORK/$t.log rc
  [ "$t" = png-c ] && exe=$BIN/png-fuzzer
  # Keywords, magic numbers, pickle opcodes, chunk names: fuzz/dicts/<target>.dict.
  local dict=fuzz/dicts/${t%-c}.dict
  mkdir -p "$WORK/$t"
  local t0=$SECONDS
  set +e
  # -fork/-jobs are not used: one process per target; ASan's allocator returns NULL on huge
  # requests as without ASan (the parsers must turn that into OUT_OF_MEMORY, not crash), and
  # one allocation above 512 MiB from an input of at most 256 KiB is reported as a bug
  # (-malloc_limit_mb: how the PNG chunk-length amplification would have shown at once).
  ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=0} \
  OV3D_FUZZ_TARGET=$t "$exe" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -max_len=262144 -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$WORK/crash-$t-" -dict="$dict" ${FUZZ_ARGS:-} \
      "$WORK/$t" $(seed_dirs "$t") >"$log" 2>&1
  rc=$?
  set -e
  local took=$((SECONDS - t0)) execs cov ft corp rate
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  echo "fuzz $t: ${execs:-?} executions in ${took} s of ${SECONDS_PER_TARGET} (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, exit $rc"
  if [ $rc -ne 0 ]; then
    grep -m8 -E "ERROR|Fatal|SUMMARY|crash-|deadly|Test unit written" "$log" || tail -20 "$log"
    return 1
  fi
}

status=0
pids=()
for t in $TARGETS; do
  case " $ALL " in *" $t "*) ;; *) echo "unknown fuzz target '$t' (one of: $ALL)"; exit 2 ;; esac
  run_target "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$JOBS" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
