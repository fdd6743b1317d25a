"""The `ov3d` command of a pip-installed ov3d: runs the command-line tool bundled in the wheel
(ov3d/bin/ov3d-tool, the same program as the checkout's bin/ov3d) with the given arguments."""
import os
import sys
from pathlib import Path


def tool_path():
    """The bundled tool's path (it exists in platform wheels only)."""
    return Path(__file__).resolve().parent / "bin" / "ov3d-tool"


def main():
    exe = tool_path()
    if not exe.is_file():
        sys.exit("ov3d: this installation has no bundled command-line tool (it is in the platform "
                 "wheel, `make wheel`; in a checkout, `make build` links bin/ov3d)")
    if not os.access(exe, os.X_OK):
        os.chmod(exe, 0o755)
    os.execv(str(exe), ["ov3d", *sys.argv[1:]])


if __name__ == "__main__":
    main()
