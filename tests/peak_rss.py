"""The peak RSS of one command, measured so that it is the command's own (issue 17).

Linux carries the peak RSS (ru_maxrss) of the image a process was forked from across exec: a
child forked straight from a large, long-running pytest process reports pytest's own peak
whenever that is higher than the child's (in the full suite every run "peaked" at pytest's
~480 MiB). So the command runs under a fresh, small Python parent (`python -S`, ~10 MiB) that
reports RUSAGE_CHILDREN: the maximum over its one child, i.e. the command's peak, never less
than the wrapper's few MiB.

    from peak_rss import run_peak
    rc, out, err, peak_mib = run_peak([tool, ...], env=..., address_space=bytes_or_None)

rc is the command's exit code, negative for the signal that killed it (as subprocess reports).
Used by tests/cli/test_memory_limits_cli.py and tests/cli/test_train_memory_cli.py; checked by
tests/cli/test_peak_rss.py.
"""
import os
import resource
import subprocess
import sys
import tempfile

# argv: peak file, command... ; re-raises the child's signal so the caller sees the same status.
_WRAPPER = (
    "import os, resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "os.kill(os.getpid(), -r.returncode) if r.returncode < 0 else sys.exit(r.returncode)\n"
)


def run_peak(args, env=None, address_space=None, extra_env=None):
    """Runs `args` (stdout and stderr captured, decoded) and returns (exit code, stdout, stderr,
    peak RSS in MiB). `env` replaces the environment (default: this one), `extra_env` is added
    to it; `address_space` (bytes) is RLIMIT_AS for the command, as `ulimit -v`."""
    fd, peak_file = tempfile.mkstemp(prefix="ov3d-peak-", suffix=".txt")
    os.close(fd)
    try:
        def limit():
            if address_space is not None:
                resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        p = subprocess.Popen([sys.executable, "-S", "-c", _WRAPPER, peak_file, *[str(a) for a in args]],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit,
                             env={**(os.environ if env is None else env), **(extra_env or {})})
        out, err = p.communicate()
        with open(peak_file) as f:
            text = f.read().strip()
        peak = int(text) / 1024 if text else float("nan")
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), peak
    finally:
        os.unlink(peak_file)
