"""The GPU kernels (:mod:`autospec.cuda_kernels`) and the device-independent part of the cupy
back end, in Numba's CUDA simulator.

``numba.cuda``'s simulator runs the same kernel source on the CPU with numpy arrays,
so the fused layer kernel, the buffer rotation, the folded Jacobi scaling, the
torch fused path and the cupy back end's build (with ``xp = numpy``) are checked
against the CPU recurrence in ``tests/sim_cuda_checks.py``.  The simulator must be
chosen before Numba's CUDA package is imported, hence the subprocess.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_cuda_kernels_in_the_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    here = Path(__file__).parent
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(here / "sim_cuda_checks.py")],
                         cwd=here.parent, env=env, capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert " passed" in res.stdout and "skipped" not in res.stdout, out[-2000:]
