"""Krylov solvers on array types other than numpy (the torch back end).

:func:`cg` is plain preconditioned CG on ``torch`` tensors (CPU or CUDA).  The
scalars of the recurrence stay 0-d tensors on the device, and the residual norm
is brought to the host only every ``check_every`` iterations, so a GPU solve does
not synchronise once per iteration.  No torch import: only tensor methods are used.
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["cg"]


def _ratio(num, den):
    """``num / den`` on the device, 0 where it is not finite: after exact convergence
    (``r = 0``, so ``0 / 0``) the iterations between two checks must leave ``x`` as it is."""
    return (num / den).nan_to_num(nan=0.0, posinf=0.0, neginf=0.0)


def cg(A: Any, b: Any, M: Callable | None = None, x0: Any = None, rtol: float = 1e-8,
       maxiter: int = 10_000, check_every: int = 10) -> tuple[Any, dict]:
    """Solve ``A x = b`` (``A`` symmetric positive definite, anything with ``A @ v``) to
    ``||b - A x|| <= rtol ||b||``; ``M`` a callable preconditioner (an autospec torch
    operator).  Returns ``(x, info)``: ``iterations`` performed (up to ``check_every - 1``
    beyond convergence), ``first_converged`` (the first iteration whose recursively
    updated residual met the tolerance: what a per-iteration check would report),
    ``converged`` and ``relres`` (the recursive residual at the last check)."""
    if check_every < 1:
        raise ValueError(f"check_every must be >= 1, got {check_every}")
    if not (isinstance(rtol, (int, float)) and rtol >= 0 and rtol == rtol):
        raise ValueError(f"rtol must be a non-negative number, got {rtol!r}")
    for name, v in (("b", b), ("x0", x0)):
        if v is not None and not hasattr(v, "new_zeros"):
            raise TypeError(f"solvers.cg works on torch tensors, but {name} is a {type(v).__name__}; "
                            "for numpy arrays use scipy.sparse.linalg.cg")
    x = b.new_zeros(b.shape) if x0 is None else x0.clone()
    r = b - A @ x if x0 is not None else b.clone()
    bnorm = float(b.norm())
    if bnorm == 0.0:
        return x, {"iterations": 0, "converged": True, "relres": 0.0}
    z = M(r) if M is not None else r
    p = z.clone()
    rz = r.dot(z)
    it, relres = 0, float(r.norm()) / bnorm
    first = 0 if relres <= rtol else None
    while it < maxiter and relres > rtol:
        norms = []
        for _ in range(min(check_every, maxiter - it)):
            q = A @ p
            alpha = _ratio(rz, p.dot(q))
            x.add_(alpha * p)
            r.sub_(alpha * q)
            it += 1
            norms.append(r.norm())          # stays on the device until the check
            z = M(r) if M is not None else r
            rz_new = r.dot(z)
            p.mul_(_ratio(rz_new, rz)).add_(z)
            rz = rz_new
        values = [float(v) / bnorm for v in norms]   # one transfer per check
        relres = values[-1]
        if first is None:
            below = [i for i, v in enumerate(values) if v <= rtol]
            if below:
                first = it - len(values) + below[0] + 1
    return x, {"iterations": it, "first_converged": first, "converged": relres <= rtol, "relres": relres}
