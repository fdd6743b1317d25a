import os
import sys
from pathlib import Path

# Test the package in this checkout (an installed copy elsewhere would shadow local edits), unless
# OV3D_TEST_INSTALLED=1: then the installed package (CI runs these tests against the built wheel).
if os.environ.get("OV3D_TEST_INSTALLED") != "1":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
