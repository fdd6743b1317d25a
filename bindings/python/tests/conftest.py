import sys
from pathlib import Path

# Test the package in this checkout (an installed copy elsewhere would shadow local edits).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
