#!/usr/bin/env python3
"""The ABI contract test (tests/abi/abi_contract_test.c) must cover every function declared in
include/ov3d.h: compares `abi_contract_test --list` with the header's declarations.

Usage: python3 tests/abi/contract_coverage.py path/to/abi_contract_test
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import header_parse  # noqa: E402


def main():
    exe = sys.argv[1]
    listed = subprocess.run([exe, "--list"], check=True, capture_output=True, text=True).stdout.split()
    declared = [f.name for f in header_parse.parse()]
    missing = sorted(set(declared) - set(listed))
    unknown = sorted(set(listed) - set(declared))
    dup = sorted({n for n in listed if listed.count(n) > 1})
    for what, names in (("declared but not covered", missing), ("covered but not declared", unknown), ("listed twice", dup)):
        if names:
            print(f"FAIL: {what}: {' '.join(names)}")
    ok = not (missing or unknown or dup)
    print(f"abi contract coverage: {len(set(listed) & set(declared))} of {len(declared)} exports"
          f" -- {1 if ok else 0} passed, {0 if ok else 1} failed")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
