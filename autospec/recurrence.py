"""The three-block state recurrence of AutoSpec, eq. (4)-(5).

A matrix polynomial ``P(X)`` is represented by scalar sequences
``{rho_k, gamma_k, eta_k, alpha_k, beta_k}``, ``k = 1..d``.  Starting from
``M0 = [I; I; X]`` (so ``A_1 = B_1 = I`` and ``C_1 = X``), the layers
``1 <= k < d`` apply eq. (5)::

    A_{k+1} = A_k + rho_k C_k
    B_{k+1} = C_k
    C_{k+1} = gamma_k A_k + eta_k B_k + (alpha_k I + beta_k X) C_k

and the single-row readout ``M_d`` gives
``P(X) = gamma_d A_d + eta_d B_d + (alpha_d I + beta_d X) C_d``.

Applied to a vector ``z`` (``V_0 = z`` instead of ``I``) the recurrence costs
one product with ``X`` per layer whose ``beta_k`` is non-zero, plus the one in
``M0``; :attr:`Coefficients.degree` counts them, and it is the degree of ``P``.

This module holds the coefficient type, its scalar evaluation, the dense and
matrix-free (numpy) evaluation, and constructors for the classical special
cases (Propositions 3.1 and 3.2; Chebyshev, monomial and general three-term
expansions through Clenshaw's recurrence).  The Numba kernels live in
:mod:`autospec.kernels`; this module imports no plugin.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "Coefficients",
    "evaluate",
    "apply",
    "dense",
    "state_peak",
]

_FIELDS = ("rho", "gamma", "eta", "alpha", "beta")


def _as_seq(x, name: str) -> np.ndarray:
    a = np.array(x, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"Coefficients: {name} contains NaN or Inf")
    return a


@dataclass(frozen=True)
class Coefficients:
    """Coefficient sequences of eq. (4): layers ``k = 1..d`` (index ``k - 1``).

    A plugin's only product: the polynomial ``P`` that every back end applies by the
    recurrence of eq. (5) (module docstring).  Immutable.

    Parameters
    ----------
    rho, gamma, eta, alpha, beta : array_like
        The ``d`` values of each sequence.  ``rho[d-1]`` belongs to the readout ``M_d``,
        which has no accumulator update, and must be zero.
    meta : dict, optional
        Free-form provenance (plugin name, interval, verification, fallback); it never
        changes the polynomial and is not compared by ``==``.

    Raises
    ------
    ValueError
        for sequences of unequal length, none, NaN or Inf, or ``rho[d-1] != 0``.

    See Also
    --------
    from_chebyshev, from_monomial, from_expansion, three_term, basis_expansion

    Examples
    --------
    >>> from autospec import Coefficients
    >>> co = Coefficients.from_monomial([1.0, 2.0, 3.0])  # P(x) = 1 + 2x + 3x^2
    >>> co
    Coefficients(degree=2, layers=1, monomial)
    >>> co([0.0, 1.0, 2.0]).tolist()
    [1.0, 6.0, 17.0]
    """

    rho: np.ndarray
    gamma: np.ndarray
    eta: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        arrays = {f: _as_seq(getattr(self, f), f) for f in _FIELDS}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1:
            raise ValueError(
                "Coefficients: rho, gamma, eta, alpha, beta must have the same "
                f"length, got {[len(arrays[f]) for f in _FIELDS]}")
        (d,) = lengths
        if d < 1:
            raise ValueError("Coefficients: need at least one layer (the readout M_d)")
        if arrays["rho"][-1] != 0.0:
            raise ValueError("Coefficients: rho[d-1] belongs to the readout M_d and must be 0")
        for f, a in arrays.items():
            a.setflags(write=False)
            object.__setattr__(self, f, a)

    # ------------------------------------------------------------------ shape
    @property
    def layers(self) -> int:
        """Number of layers ``d`` (``M_1 .. M_d``)."""
        return len(self.gamma)

    @cached_property
    def uses_c1(self) -> bool:
        """Whether ``C_1 = X z`` from ``M0`` is needed at all."""
        return self.layers > 1 or self.alpha[0] != 0.0 or self.beta[0] != 0.0

    @cached_property
    def accumulates(self) -> bool:
        """Whether the accumulator ``A`` ever changes (any ``rho_k != 0``)."""
        return bool(np.any(self.rho != 0.0))

    @property
    def matvecs(self) -> int:
        """Products with ``X`` per application to one vector."""
        if not self.uses_c1:
            return 0
        return 1 + int(np.count_nonzero(self.beta))

    @property
    def degree(self) -> int:
        """Degree of ``P`` (an upper bound attained for generic coefficients)."""
        return self.matvecs

    def as_array(self) -> np.ndarray:
        """``(d, 5)`` array with columns rho, gamma, eta, alpha, beta (a new array)."""
        return np.stack([getattr(self, f) for f in _FIELDS], axis=1)

    @cached_property
    def table(self) -> np.ndarray:
        """Read-only C-contiguous ``as_array()``, computed once (the kernels' input)."""
        t = np.ascontiguousarray(self.as_array())
        t.setflags(write=False)
        return t

    @classmethod
    def from_array(cls, arr, meta: dict | None = None) -> "Coefficients":
        """Coefficients from a ``(d, 5)`` array of rows ``(rho, gamma, eta, alpha, beta)``
        (:meth:`as_array`'s layout)."""
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 5:
            raise ValueError(f"Coefficients.from_array: expected shape (d, 5), got {arr.shape}")
        return cls(*arr.T, meta=dict(meta or {}))

    def scaled(self, s: float) -> "Coefficients":
        """Coefficients of ``s * P`` (only the readout changes)."""
        arr = self.as_array().copy()
        arr[-1, 1:] *= s
        return Coefficients.from_array(arr, self.meta)

    def __eq__(self, other) -> bool:
        # The dataclass-generated __eq__ compares tuples of arrays, which raises
        # "truth value of an array is ambiguous"; compare the coefficient table.
        if not isinstance(other, Coefficients):
            return NotImplemented
        return bool(np.array_equal(self.as_array(), other.as_array()))

    def __hash__(self) -> int:
        return hash((self.as_array() + 0.0).tobytes())  # + 0.0 maps -0.0 to 0.0, as == does

    def rescaled_input(self, s: float) -> "Coefficients":
        """Coefficients of ``Q(X) = P(X / s)`` within the same recurrence (exact).

        Only ``M0``'s ``C_1 = X z`` carries an extra factor ``s``; pushing it
        through eq. (5): layer 1 takes ``rho_1 / s``, ``alpha_1 / s``,
        ``beta_1 / s^2``, layer 2 ``eta_2 / s``, and every later layer
        ``beta_k / s``.
        """
        s = float(s)
        if not (s > 0 and np.isfinite(s)):
            raise ValueError(f"rescaled_input: scale must be positive and finite, got {s}")
        arr = self.as_array().copy()
        arr[0, 0] /= s
        arr[0, 3] /= s
        arr[0, 4] /= s * s
        if self.layers > 1:
            arr[1, 2] /= s
            arr[1:, 4] /= s
        return Coefficients.from_array(arr, {**self.meta, "input_scale": s})

    def __repr__(self) -> str:
        name = self.meta.get("name", "")
        return f"Coefficients(degree={self.degree}, layers={self.layers}{', ' + name if name else ''})"

    # ------------------------------------------------------------- evaluation
    def __call__(self, lam) -> np.ndarray:
        return evaluate(self, lam)

    def monomial(self) -> np.ndarray:
        """Monomial coefficients ``c_0..c_degree`` of ``P`` (exact arithmetic aside).

        Ill-conditioned for high degrees on wide intervals; meant for tests
        and small cases.  Computed by running the recurrence on polynomials.
        """
        P = np.polynomial.Polynomial
        x = P([0.0, 1.0])
        return _run(self, P([1.0]), lambda c: x * c, lambda: P([0.0])).coef

    # ------------------------------------------------------------ constructors
    @classmethod
    def three_term(cls, gamma, eta, alpha, beta, readout=None) -> "Coefficients":
        """Scenario I (Prop. 3.1): ``rho = 0`` so ``A == I`` and
        ``C_{k+1} = gamma_k I + eta_k C_{k-1} + (alpha_k I + beta_k X) C_k``,
        ``C_0 = I``, ``C_1 = X``.  ``gamma, eta, alpha, beta`` are the steps
        ``k = 1..d-1``; the output is ``C_d`` unless ``readout =
        (gamma_d, eta_d, alpha_d, beta_d)`` is given.
        """
        g, e, a, b = (list(np.atleast_1d(np.asarray(v, float))) for v in (gamma, eta, alpha, beta))
        if not len(g) == len(e) == len(a) == len(b):
            raise ValueError("three_term: sequences must have equal length")
        ro = (0.0, 0.0, 1.0, 0.0) if readout is None else tuple(readout)
        d = len(g) + 1
        return cls(np.zeros(d), g + [ro[0]], e + [ro[1]], a + [ro[2]], b + [ro[3]],
                   meta={"name": "three_term"})

    @classmethod
    def basis_expansion(cls, eta, alpha, beta, rho, gamma_d: float = 1.0) -> "Coefficients":
        """Scenario II (Prop. 3.2): ``gamma_k = 0`` for ``k < d`` and the readout
        ``eta_d = alpha_d = beta_d = 0``, so ``C_{k+1} = eta_k C_{k-1} +
        (alpha_k I + beta_k X) C_k`` is a homogeneous three-term basis and
        ``P = gamma_d (I + sum_{k<d} rho_k C_k)``.  ``eta, alpha, beta, rho``
        are the steps ``k = 1..d-1``.
        """
        e, a, b, r = (list(np.atleast_1d(np.asarray(v, float))) for v in (eta, alpha, beta, rho))
        if not len(e) == len(a) == len(b) == len(r):
            raise ValueError("basis_expansion: sequences must have equal length")
        d = len(e) + 1
        return cls(r + [0.0], [0.0] * (d - 1) + [float(gamma_d)], e + [0.0], a + [0.0], b + [0.0],
                   meta={"name": "basis_expansion"})

    @classmethod
    def from_expansion(cls, c, p, q, r=None, meta: dict | None = None) -> "Coefficients":
        """``P = sum_j c_j phi_j`` for a three-term basis
        ``phi_0 = 1``, ``phi_1 = p_0 + q_0 x``,
        ``phi_{k+1} = (p_k + q_k x) phi_k + r_k phi_{k-1}`` (``k >= 1``).

        The sum is evaluated by Clenshaw's backward recurrence, which is an
        affine three-term recurrence (Scenario I, Prop. 3.1) and therefore
        numerically as stable as the basis itself.  ``P`` of degree ``m``
        costs ``m`` products with ``X`` (one in ``M0``).
        """
        c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        m = len(c) - 1
        p = np.broadcast_to(np.asarray(p, dtype=np.float64), (max(m, 1),)).copy()
        q = np.broadcast_to(np.asarray(q, dtype=np.float64), (max(m, 1),)).copy()
        r = np.zeros(max(m, 1)) if r is None else np.broadcast_to(np.asarray(r, dtype=np.float64), (max(m, 1),)).copy()
        for name, v in (("c", c), ("p", p), ("q", q), ("r", r)):
            if not np.all(np.isfinite(v)):
                raise ValueError(f"from_expansion: {name} contains NaN or Inf")
        meta = dict(meta or {})
        Poly = np.polynomial.Polynomial
        if m <= 2:
            # Direct monomial readout: P = g + a x + b x^2 with d = 1.
            f = Poly([c[0]])
            phi_prev, phi = Poly([1.0]), Poly([p[0], q[0]])
            for j in range(1, m + 1):
                f = f + c[j] * phi
                if j < m:
                    phi_prev, phi = phi, Poly([p[j], q[j]]) * phi + r[j] * phi_prev
            mc = np.zeros(3)
            mc[: len(f.coef)] = f.coef
            return cls([0.0], [mc[0]], [0.0], [mc[1]], [mc[2]], meta=meta)

        # Clenshaw targets t_j (degree j): t_{-1} = 0, t_0 = c_m,
        # t_{j+1} = c_{m-j-1} + (p_{m-j-1} + q_{m-j-1} x) t_j + r_{m-j} t_{j-1},
        # with t_m = P.  States: C_0 = 1, C_1 = x, C_j = t_j for j >= 2.
        t0 = Poly([c[m]])
        t1 = Poly([c[m - 1]]) + Poly([p[m - 1], q[m - 1]]) * t0  # r_m * t_{-1} = 0
        u, v = (list(t1.coef) + [0.0, 0.0])[:2]  # t_1 = u + v x
        # Step 1 (k = 1): C_2 = t_2 from C_1 = x, C_0 = 1: monomial match.
        t2 = Poly([c[m - 2]]) + Poly([p[m - 2], q[m - 2]]) * t1 + r[m - 1] * t0
        k2 = (list(t2.coef) + [0.0, 0.0, 0.0])[:3]
        gam, eta, alp, bet = [k2[0]], [0.0], [k2[1]], [k2[2]]
        # Steps k = 2..m-1 produce t_{k+1}; the last one (k = m-1) is the readout.
        for k in range(2, m):
            i = m - k - 1  # index of the expansion coefficient / basis step
            rr = r[i + 1]
            if k == 2:
                # C_{k-1} = C_1 = x whereas t_1 = u + v x: inject u via gamma.
                gam.append(c[i] + rr * u)
                eta.append(rr * v)
            else:
                gam.append(c[i])
                eta.append(rr)
            alp.append(p[i])
            bet.append(q[i])
        d = len(gam)
        return cls(np.zeros(d), gam, eta, alp, bet, meta=meta)

    @classmethod
    def in_chebyshev_basis(cls, co: "Coefficients", interval: Sequence[float],
                           meta: dict | None = None) -> "Coefficients":
        """The polynomial of ``co`` (degree ``m >= 2``) rewritten in Scenario II form
        (Prop. 3.2) over the bounded basis ``phi_0 = 1``,
        ``phi_j(x) = x U_{j-1}(theta(x))`` (``U`` Chebyshev polynomials of the second
        kind, ``theta`` mapping ``interval`` onto ``[-1, 1]``):

        * layers ``0 .. m-3`` generate ``phi_{k+2} = 2 theta phi_{k+1} - phi_k``
          (``eta_0 = 0``) and accumulate ``rho_k phi_{k+1}`` with ``rho_k = p_{k+1} / p_0``;
        * the readout is ``p_0 A + p_{m-1} phi_{m-1} + p_m phi_m`` with ``phi_m`` folded in
          (``eta = -p_m``, ``alpha = p_{m-1} + 2 t p_m``, ``beta = 2 s p_m``).

        The states stay bounded on the interval (``|phi_j| <= j x``) and ``P`` is
        linear in ``rho``, which is what makes this the form in which the learned
        engine can perturb a classical polynomial (a Clenshaw form has huge partial
        sums that cancel).  Needs ``P(0) = p_0 != 0`` and an interval that reaches
        close to 0 (``a << b``, as for the polynomials of autospec's tasks); it
        raises ``ValueError`` when the rewrite is not accurate to 1e-8 on the interval.
        Same matvec count as ``co``.
        """
        a, b = (float(v) for v in interval)
        if not (np.isfinite(a) and np.isfinite(b) and b > a):
            raise ValueError(f"in_chebyshev_basis: need a finite interval a < b, got [{a}, {b}]")
        m = co.degree
        if m < 2:
            raise ValueError("in_chebyshev_basis: needs degree >= 2")
        s, t = 2.0 / (b - a), -(a + b) / (b - a)
        nodes = 0.5 * (a + b) + 0.5 * (b - a) * np.cos(np.pi * (np.arange(2 * m + 2) + 0.5) / (2 * m + 2))
        nodes = np.concatenate([[0.0], nodes])
        th = t + s * nodes
        U = [np.ones_like(th), 2.0 * th]
        for _ in range(m):
            U.append(2.0 * th * U[-1] - U[-2])
        Phi = np.stack([np.ones_like(th)] + [nodes * U[j - 1] for j in range(1, m + 1)], axis=1)
        vals = evaluate(co, nodes)
        p = np.linalg.lstsq(Phi, vals, rcond=None)[0]
        if not (np.isfinite(p[0]) and abs(p[0]) > 1e-12 * np.max(np.abs(vals))):
            raise ValueError("in_chebyshev_basis: P(0) must be finite and nonzero")
        d = m - 1
        rho = np.zeros(d)
        gamma = np.zeros(d)
        eta = np.full(d, -1.0)
        alpha = np.full(d, 2.0 * t)
        beta = np.full(d, 2.0 * s)
        eta[0] = 0.0
        rho[:d - 1] = p[1:d] / p[0]
        gamma[-1], eta[-1], alpha[-1], beta[-1] = p[0], -p[m], p[m - 1] + 2.0 * t * p[m], 2.0 * s * p[m]
        if d == 1:  # degree 2: the readout alone, B = phi_0 and phi_2 = 2 theta phi_1
            eta[-1] = 0.0
        out = cls(rho, gamma, eta, alpha, beta, meta={**co.meta, **(meta or {}),
                                                      "form": "chebyshev_basis", "basis_interval": (a, b)})
        # accuracy on the interval itself (node 0 lies outside it when a > 0)
        if not np.max(np.abs(evaluate(out, nodes[1:]) - vals[1:])) <= 1e-8 * np.max(np.abs(vals[1:])):
            raise ValueError(f"in_chebyshev_basis: the basis of [{a:.4g}, {b:.4g}] does not represent "
                             "the polynomial accurately (the interval must reach close to 0)")
        return out

    @classmethod
    def from_monomial(cls, c, meta: dict | None = None) -> "Coefficients":
        """``P(x) = sum_j c_j x^j`` (Horner's rule as a three-term recurrence).

        Parameters
        ----------
        c : array_like
            Monomial coefficients, lowest degree first.
        meta : dict, optional
            Provenance merged into ``meta`` (``name="monomial"``).

        Returns
        -------
        Coefficients
            Of degree ``len(c) - 1`` (at least 1 layer).

        Raises
        ------
        ValueError
            if ``c`` contains NaN or Inf.

        Examples
        --------
        >>> from autospec import Coefficients
        >>> Coefficients.from_monomial([0.5]).degree  # the constant 1/2: no product with X
        0
        """
        c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        m = max(len(c) - 1, 1)
        return cls.from_expansion(c, np.zeros(m), np.ones(m), None,
                                  meta={"name": "monomial", **(meta or {})})

    @classmethod
    def from_chebyshev(cls, c, interval: Sequence[float] = (-1.0, 1.0),
                       meta: dict | None = None) -> "Coefficients":
        """``P(x) = sum_j c_j T_j(theta(x))`` with ``theta`` mapping ``interval``
        ``[a, b]`` onto ``[-1, 1]``, ``theta(x) = (2x - (a + b)) / (b - a)``
        (the convention of App. E and :mod:`numpy.polynomial.chebyshev`).

        Parameters
        ----------
        c : array_like
            Chebyshev coefficients, ``T_0`` first.
        interval : (a, b), default (-1, 1)
            A finite interval, ``a < b``.
        meta : dict, optional
            Provenance merged into ``meta`` (``name="chebyshev"``, ``interval``).

        Returns
        -------
        Coefficients
            Evaluated by Clenshaw's recurrence (stable for high degrees).

        Raises
        ------
        ValueError
            for an empty or infinite interval, or NaN or Inf in ``c``.

        Examples
        --------
        >>> from autospec import Coefficients
        >>> T2 = Coefficients.from_chebyshev([0, 0, 1], interval=(0, 2))  # T_2(x - 1)
        >>> T2([0.0, 1.0, 2.0]).tolist()
        [1.0, -1.0, 1.0]
        """
        a, b = (float(v) for v in interval)
        if not (np.isfinite(a) and np.isfinite(b) and b > a):
            raise ValueError(f"from_chebyshev: need a finite interval a < b, got [{a}, {b}]")
        c = np.atleast_1d(np.asarray(c, dtype=np.float64))
        m = max(len(c) - 1, 1)
        s, t = 2.0 / (b - a), -(a + b) / (b - a)  # theta = t + s x
        p = np.full(m, 2.0 * t)
        q = np.full(m, 2.0 * s)
        p[0], q[0] = t, s  # T_1 = theta
        r = np.full(m, -1.0)
        return cls.from_expansion(c, p, q, r,
                                  meta={"name": "chebyshev", "interval": (a, b), **(meta or {})})


# ---------------------------------------------------------------------------
# Generic evaluation of the recurrence over any "vector" type.

def _combine(terms, zero):
    """``sum c v`` over the terms whose coefficient is non-zero, in order (a zero term is
    neither read nor multiplied, so no array is needed for it); ``zero()`` if none."""
    out = None
    for c, v in terms:
        if c != 0.0:
            out = c * v if out is None else out + c * v
    return zero() if out is None else out


def _run(co: Coefficients, z, matvec: Callable, zero: Callable, normalize: Callable | None = None):
    """Run eq. (4)-(5) on ``z`` with products ``matvec``; returns ``P(X) z``.

    Only arithmetic operators are used on the vectors (``+``, scalar ``*``, ``/``), so
    ``z`` may be a numpy, torch or cupy array (or a polynomial, for :meth:`monomial`);
    coefficients enter as Python floats.  ``zero()`` makes a zero vector like ``z``.
    ``normalize(A, B, C) -> s`` (optional) returns a positive scale by which the whole
    state is divided after each layer (Sec. 4.3); the result is then ``P(X) z`` divided
    by the product of those scales.
    """
    t = co.table
    d = co.layers
    A = z
    B = z
    C = matvec(z) if co.uses_c1 else None
    for k in range(d - 1):
        rho, gamma, eta, alpha, beta = (float(v) for v in t[k])
        XC = matvec(C) if beta != 0.0 else None
        Cn = _combine(((gamma, A), (eta, B), (alpha, C), (beta, XC)), zero)
        if rho != 0.0:
            A = A + rho * C
        B, C = C, Cn
        if normalize is not None:
            s = normalize(A, B, C)
            A, B, C = A / s, B / s, C / s
    _, gamma, eta, alpha, beta = (float(v) for v in t[d - 1])
    XC = matvec(C) if beta != 0.0 else None
    return _combine(((gamma, A), (eta, B), (alpha, C), (beta, XC)), zero)


def _max_norm(A, B, C) -> float:
    """The state's max-norm over the evaluation points (1 if it is 0 or not finite)."""
    s = max(np.max(np.abs(A)), np.max(np.abs(B)), np.max(np.abs(C)))
    return s if s > 0 and np.isfinite(s) else 1.0


def _column_norm(A, B, C):
    """The state's 2-norm per column (1 where it is 0 or not finite), with array methods
    only (numpy, torch and cupy alike)."""
    s = ((A * A).sum(0) + (B * B).sum(0) + (C * C).sum(0)) ** 0.5
    bad = ~((s > 0) & (s < float("inf")))
    return s * ~bad + bad


def evaluate(co: Coefficients, lam, normalize: bool = False) -> np.ndarray:
    """``P(lambda)`` for an array of scalars (vectorised over ``lam``).

    With ``normalize=True`` the state is divided by its max-norm over ``lam``
    after every layer (Sec. 4.3), so the result is ``P(lambda) / s`` for one
    positive ``s``: the shape of ``P`` without overflow at high degree.

    Parameters
    ----------
    co : Coefficients
    lam : array_like
        Points (eigenvalues) to evaluate at.
    normalize : bool, default False

    Returns
    -------
    ndarray
        ``P(lam)`` in float64, of ``lam``'s shape.

    Raises
    ------
    ValueError
        if ``lam`` cannot be converted to float64.

    Examples
    --------
    >>> from autospec import Coefficients
    >>> from autospec.recurrence import evaluate
    >>> evaluate(Coefficients.from_monomial([1.0, 2.0, 3.0]), [1.0, 2.0]).tolist()
    [6.0, 17.0]
    """
    lam = np.asarray(lam, dtype=np.float64)
    z = np.ones_like(lam)
    return _run(co, z, lambda v: lam * v, lambda: np.zeros_like(lam), _max_norm if normalize else None)


def apply(co: Coefficients, matvec: Callable, z, normalize: bool = False):
    """``P(X) z`` matrix-free with ``matvec(v) = X v``, for numpy, torch or cupy arrays.

    ``z`` may be a vector ``(n,)`` or a block ``(n, k)`` (``matvec`` must then
    accept blocks) of any array type with arithmetic operators (numpy, torch, cupy:
    nothing is converted to numpy, so a device array stays on its device); lists
    and other sequences are converted with ``np.asarray``.  Three state vectors,
    one product with ``X`` per layer, no ``n x n`` object.  ``normalize=True``
    divides the state by its 2-norm (per column for blocks) after each layer
    (Sec. 4.3); the result is then ``P(X) z`` up to a positive factor per column.

    Parameters
    ----------
    co : Coefficients
    matvec : callable
        ``v -> X v`` (also for blocks when ``z`` is one).
    z : array
        A vector ``(n,)`` or block ``(n, k)``: numpy, torch or cupy.
    normalize : bool, default False

    Returns
    -------
    array
        ``P(X) z``, of ``z``'s type.

    Raises
    ------
    ValueError
        whatever ``matvec`` raises for a vector of the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> from autospec import Coefficients
    >>> from autospec.recurrence import apply
    >>> X = np.diag([1.0, 2.0])
    >>> apply(Coefficients.from_monomial([1.0, 2.0, 3.0]), lambda v: X @ v, np.ones(2)).tolist()
    [6.0, 17.0]
    """
    if not hasattr(z, "shape"):
        z = np.asarray(z)
    return _run(co, z, matvec, lambda: z * 0.0, _column_norm if normalize else None)


def state_peak(co: Coefficients, lam) -> float:
    """The largest magnitude any state ``A_k, B_k, C_k`` or the output of eq. (4)-(5) reaches
    at the scalars ``lam`` (with ``z = 1``): what the state buffers of an application must hold
    for an operator with that spectrum."""
    lam = np.asarray(lam, dtype=np.float64)
    peak = [0.0]

    def track(A, B, C):
        peak[0] = max(peak[0], float(np.max(np.abs(A))), float(np.max(np.abs(B))), float(np.max(np.abs(C))))
        return 1.0

    with np.errstate(over="ignore", invalid="ignore"):
        out = _run(co, np.ones_like(lam), lambda v: lam * v, lambda: np.zeros_like(lam), track)
        top = max(peak[0], float(np.max(np.abs(out))))
    return top if np.isfinite(top) else float("inf")


def dense(co: Coefficients, X: np.ndarray) -> np.ndarray:
    """The matrix ``P(X)`` for a small dense ``X`` (``V_0 = I``).

    Parameters
    ----------
    co : Coefficients
    X : array_like
        A square matrix.

    Returns
    -------
    ndarray
        ``P(X)``, ``n x n``.

    Raises
    ------
    ValueError
        if ``X`` is not square.

    Examples
    --------
    >>> import numpy as np
    >>> from autospec import Coefficients
    >>> from autospec.recurrence import dense
    >>> dense(Coefficients.from_monomial([1.0, 2.0, 3.0]), np.diag([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 17.0]]
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != X.shape[1]:
        raise ValueError(f"dense: X must be square, got shape {X.shape}")
    return apply(co, lambda V: X @ V, np.eye(X.shape[0]))
