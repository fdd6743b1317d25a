#!/usr/bin/env bash
# Builds, OUTSIDE the repository, a timing harness around ScanNet's reference segment() function
# (PLY read + segmentation, timed in process, best of N), for bench/superpoints_bench.py.
#   bench/segmentator_harness.sh /tmp/scannet/Segmentator /tmp/seg_harness
#   SEGMENTATOR_HARNESS=/tmp/seg_harness SEGMENTATOR=/tmp/scannet/Segmentator/segmentator python3 bench/superpoints_bench.py
set -euo pipefail
src=${1:?path to ScanNet/ScanNet Segmentator folder}; out=${2:?output binary}
tmp=$(mktemp -d)
cat > "$tmp/harness.cpp" <<'CPP'
#define main segmentator_main
#include "segmentator.cpp"
#undef main
#include <chrono>
int main(int argc, char **argv) {
    float k = argc > 2 ? atof(argv[2]) : 0.01f; int m = argc > 3 ? atoi(argv[3]) : 20;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    double best = 1e30; size_t nseg = 0;
    for (int r = 0; r < reps; ++r) {
        auto t = std::chrono::steady_clock::now();
        auto comps = segment(argv[1], k, m);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
        if (ms < best) best = ms;
        std::unordered_set<int> s(comps.begin(), comps.end()); nseg = s.size();
    }
    fprintf(stderr, "reference segment(): best %.1f ms, %zu segments\n", best, nseg);
}
CPP
g++ -std=c++11 -O2 -w -I"$src" -o "$out" "$tmp/harness.cpp" "$src/tinyply.cpp"
rm -rf "$tmp"
echo "built $out"
