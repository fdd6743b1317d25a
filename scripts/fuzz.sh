#!/usr/bin/env bash
# make fuzz SECONDS=N: builds fuzz/parser-fuzzer (libFuzzer + ASan) and runs every ParserTarget
# for N seconds each from the committed seeds (corpora kept in .build/fuzz/<target>). Prints
# executions and coverage per target; exits non-zero on the first crash (its input is saved as
# .build/fuzz/crash-<target>-*; copy it to Tests/Fixtures/hostile/regressions/<target>/).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
TARGETS="${FUZZ_TARGETS:-npy pointcloud checkpoint vocabulary png json manifest}"
[ -x fuzz/parser-fuzzer ] && [ -z "${FUZZ_REBUILD:-}" ] || bash fuzz/build.sh
declare -A SEEDS=([npy]=npy [pointcloud]="pcd ply npy" [checkpoint]=checkpoint [vocabulary]=vocab [png]=png [json]=json [manifest]=json)
status=0
for t in $TARGETS; do
  mkdir -p ".build/fuzz/$t"
  dirs=""; for s in ${SEEDS[$t]}; do dirs="$dirs Tests/Fixtures/hostile/seeds/$s"; done
  log=".build/fuzz/$t.log"
  set +e
  OV3D_FUZZ_TARGET=$t ./fuzz/parser-fuzzer -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
      -max_len=262144 -print_final_stats=1 -artifact_prefix=".build/fuzz/crash-$t-" ".build/fuzz/$t" $dirs >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz $t: ${execs:-?} executions in ${SECONDS_PER_TARGET} s, $cov, exit $rc"
  if [ $rc -ne 0 ]; then grep -m5 -E "ERROR|Fatal|crash-|deadly" "$log" || tail -20 "$log"; status=1; fi
done
exit $status
