"""Every bound of THEORY §5, evaluated in float64 from the formulas of :mod:`proofs.bounds`.

Each bound is C · Σ_{t=1}^T term_t with term_t the numpy function generated from
``proofs.bounds.BOUND_TERMS`` (:mod:`numerics.generated_bounds`, written by ``python3 -m numerics.codegen``
and checked against the kernel by tests/numerics/test_generated_bounds.py; :mod:`numerics.formulas` holds
the table in use), which the proof kernel assembles from the master inequality (or the Δ route) and one
route of each lemma (proofs.bound_family); C = 4 "paper", C = 2 "sharp", as assembled. Nothing is retyped
here: the LN-TRM weight is the assembled Adaptive-hybrid future factor and the worst-case inputs are the
right sides of the lemmas bounding them. Importing this module costs numpy only (no sympy, no proofs).
The unified bound B* is the minimum of the bounds. Inputs are the measured quantities
δ = D_KL^{tok,max}, ε = D_TV^{tok,max}, D_KL^seq, D_TV^seq and D̄_t (per position).
An infinite δ or D_KL^seq (support mismatch) is evaluated through the caps min(1, ·), which keep
the KL-driven bounds finite.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from numerics import formulas
from numerics.errors import TRMInputError

BOUND_NAMES = formulas.active().BOUND_NAMES
CONSTANT_FAMILIES = tuple(formulas.active().CONSTANTS)
#: Relative slack allowed when checking that inputs respect the caps that relate them.
CONSISTENCY_RTOL = 1e-9
_FINITE_INFINITY = np.finfo(np.float64).max


def _finite(x: float) -> float:
    return _FINITE_INFINITY if math.isinf(x) else x


def pinsker_cap(kl: float) -> float:
    """min(1, sqrt(KL/2)) from proofs.bounds.pinsker_cap; +inf KL gives 1."""
    return float(formulas.active().pinsker_cap(_finite(kl)))


def constant(family: str) -> float:
    constants = formulas.active().CONSTANTS
    if family not in constants:
        raise TRMInputError(f"constants = {family!r}: choose one of {', '.join(CONSTANT_FAMILIES)}")
    return float(constants[family])


@dataclass(frozen=True)
class BoundInputs:
    """The measured quantities every bound is a function of.

    T            sequence length
    kl_tok_max   δ (may be +inf: support mismatch)
    tv_tok_max   ε
    kl_seq       D_KL^seq (may be +inf)
    tv_seq       D_TV^seq (the exact value, or an upper bound of it: the bounds stay valid)
    tv_pos_mean  [T] D̄_t
    notes        where an input is a worst case or an upper bound rather than a measurement
    """

    T: int
    kl_tok_max: float
    tv_tok_max: float
    kl_seq: float
    tv_seq: float
    tv_pos_mean: np.ndarray
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def from_exact(cls, quantities) -> "BoundInputs":
        """From :class:`numerics.result.ExactQuantities`; a missing D_TV^seq takes its Pinsker cap."""
        notes = ()
        tv = quantities.tv_seq
        if tv is None:
            tv = quantities.tv_seq_upper
            notes = ("tv_seq: exact value unavailable; its upper bound min(1, sqrt(D_KL^seq/2)) is used",)
        return cls(quantities.T, quantities.kl_tok_max, quantities.tv_tok_max, quantities.kl_seq, tv,
                   np.asarray(quantities.tv_pos_mean, dtype=np.float64), notes)

    @classmethod
    def worst_case(cls, T, kl_tok_max, tv_tok_max=None, kl_seq=None, tv_seq=None) -> "BoundInputs":
        """User numbers with missing ones set to their worst case given the others:
        ε = min(1, sqrt(δ/2)), D_KL^seq = Tδ, D_TV^seq = min(1, sqrt(D_KL^seq/2)), D̄_t ≡ ε (the right sides of
        proofs.bounds.worst_case_eps, worst_case_kl_seq and worst_case_tv_seq, which are also the caps every
        given input is checked against). Inputs that contradict each other are refused with the relation that
        fails."""
        T = check_horizon(T)
        d = check_value("kl-max (δ)", kl_tok_max, allow_inf=True)
        notes = []
        table = formulas.active()
        eps_cap = float(table.worst_case_eps(_finite(d)))
        e = _capped_input("tv-max", "ε", tv_tok_max, eps_cap, "the Pinsker cap min(1, sqrt(δ/2))",
                          "ε ≤ min(1, sqrt(δ/2)) must hold", notes)
        kl_cap = float(table.worst_case_kl_seq(_finite(d), T)) if math.isfinite(d) else math.inf
        D = _capped_input("kl-seq", "D_KL^seq", kl_seq, kl_cap, "T·δ",
                          "the KL chain rule gives D_KL^seq ≤ T·D_KL^(tok,max)", notes, allow_inf=True)
        tv_cap = float(table.worst_case_tv_seq(_finite(D)))
        tv = _capped_input("tv-seq", "D_TV^seq", tv_seq, tv_cap, "the Pinsker cap min(1, sqrt(D_KL^seq/2))",
                           "D_TV^seq ≤ min(1, sqrt(D_KL^seq/2)) must hold", notes)
        notes.append("tv_pos_mean: worst case D̄_t ≡ ε")
        return cls(T, d, e, D, tv, np.full(T, e), tuple(notes))


def _capped_input(flag: str, symbol: str, value, cap: float, cap_text: str, relation: str, notes: list,
                  allow_inf: bool = False) -> float:
    """The given input, checked against the cap its relation to the other inputs imposes; or, when
    missing, the cap itself (its worst case), recorded in ``notes``."""
    if value is None:
        notes.append(f"{symbol}: worst case {cap_text} = {cap:.6g}")
        return cap
    v = check_value(f"{flag} ({symbol})", value, allow_inf=allow_inf)
    if v > cap * (1 + CONSISTENCY_RTOL):
        raise TRMInputError(f"--{flag} {v:g} exceeds {cap_text} = {cap:g}: {relation}")
    return v


def check_horizon(T) -> int:
    """T as an int ≥ 1, or a TRMInputError naming it."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise TRMInputError(f"T = {T!r}: the sequence length must be an integer ≥ 1")
    return int(T)


def check_value(name: str, value, allow_inf: bool = False) -> float:
    """A non-negative number (a divergence, a second moment, a budget), +inf only with ``allow_inf``;
    a TRMInputError naming ``name`` otherwise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TRMInputError(f"{name} = {value!r}: not a number") from None
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        raise TRMInputError(f"{name} = {value!r}: must be a finite number")
    if v < 0:
        raise TRMInputError(f"{name} = {v:g}: cannot be negative")
    return v


#: Positions per chunk when summing per-position terms: each term's temporaries stay in cache, and no [T]
#: temporary exists (see :func:`sum_over_positions`)
TERM_CHUNK = 2**16
#: At most this many threads sum chunks at once (numpy releases the GIL inside its loops)
MAX_SUM_THREADS = 8


def sum_over_positions(terms, T: int, count: int, chunk: int | None = None) -> list[float]:
    """[Σ_{t=1}^T x_t for each of the ``count`` arrays ``terms(start, stop, t)`` returns for the positions
    t = start+1..stop] (``t`` a float64 array of them; an entry may be a scalar, taken at every position).

    The positions go a chunk at a time, so every temporary is a chunk long; beyond four chunks they are
    summed on a few threads, under the caller's ``numpy.errstate``. Each chunk's sums are added in chunk order
    whatever thread computed them, so the result does not depend on the threads."""
    chunk = chunk or TERM_CHUNK
    starts = range(0, T, chunk)
    errors = np.geterr()               # the caller's floating-point error handling, for the worker threads too

    def one(start: int) -> list[float]:
        stop = min(T, start + chunk)
        with np.errstate(**errors):
            t = np.arange(start + 1, stop + 1, dtype=np.float64)
            return [float(np.sum(np.broadcast_to(x, t.shape))) for x in terms(start, stop, t)]

    threads = min(MAX_SUM_THREADS, _usable_cores(), len(starts) // 4)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(one, starts))
    else:
        parts = [one(start) for start in starts]
    totals = [0.0] * count
    for part in parts:
        totals = [a + b for a, b in zip(totals, part)]
    return totals


def _usable_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one, else the core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def bound_sums(inputs: BoundInputs) -> dict:
    """{name: Σ_{t=1}^T term_t} for every bound (the bound is C times it), by :func:`sum_over_positions`."""
    T = inputs.T
    dbar_t = np.asarray(inputs.tv_pos_mean, dtype=np.float64)
    if dbar_t.shape != (T,):
        raise TRMInputError(f"tv_pos_mean: expected {T} values (one per position), got shape {dbar_t.shape}")
    scalars = (_finite(inputs.kl_tok_max), inputs.tv_tok_max, _finite(inputs.kl_seq), inputs.tv_seq)
    functions = [formulas.active().BOUND_TERMS[name] for name in BOUND_NAMES]

    def terms(start, stop, t):
        return [f(float(T), t, *scalars, dbar_t[start:stop]) for f in functions]

    return dict(zip(BOUND_NAMES, sum_over_positions(terms, T, len(functions))))


def _with_unified(values: dict) -> dict:
    argmin = min(BOUND_NAMES, key=values.__getitem__)
    values["unified"] = values[argmin]
    values["argmin"] = argmin
    return values


def evaluate_bounds(inputs: BoundInputs, constants: str = "paper") -> dict:
    """{name: value} for every bound, plus 'unified' (B*, the minimum) and 'argmin' (its name)."""
    c = constant(constants)
    return _with_unified({name: c * total for name, total in bound_sums(inputs).items()})


def evaluate_bound_families(inputs: BoundInputs, families=CONSTANT_FAMILIES) -> dict:
    """{family: :func:`evaluate_bounds` of that family}, the sums over positions taken once for all."""
    cs = {family: constant(family) for family in families}
    sums = bound_sums(inputs)
    return {family: _with_unified({name: c * total for name, total in sums.items()}) for family, c in cs.items()}


def worst_case_unified(T: int, kl_tok_max: float, constants: str = "paper") -> float:
    """B*(δ) at length T with every other input at its worst case given δ."""
    return evaluate_bounds(BoundInputs.worst_case(T, kl_tok_max), constants)["unified"]


def threshold(T: int, budget: float, constants: str = "paper", rel_tol: float = 1e-10) -> float:
    """The largest δ with worst-case B*(δ) ≤ budget: the TRM-Max threshold for an error budget.

    B* is nondecreasing in δ (each term is), so bisection on log δ finds it. Returns +inf when
    even an unbounded δ keeps B* within the budget (e.g. T = 1, where every bound is 0).
    """
    T = check_horizon(T)
    beta = check_value("budget (β)", budget)
    if beta <= 0:
        raise TRMInputError(f"budget = {beta:g}: the error budget must be positive")
    if worst_case_unified(T, math.inf, constants) <= beta:
        return math.inf
    lo, hi = -300.0, 300.0
    floor = worst_case_unified(T, 10.0**lo, constants)
    if floor > beta:
        # the bisection's invariant B*(10^lo) ≤ β fails at its start: no δ that float64 represents
        # comfortably meets this budget, and returning 10^lo would exceed it
        raise TRMInputError(f"budget = {beta:g}: below B*(δ = 1e-300) = {floor:.3g} at T = {T}; no δ representable "
                            f"in float64 meets it (the smallest budget this T admits is about {floor:.3g})")
    while hi - lo > rel_tol * max(1.0, abs(hi)):
        mid = 0.5 * (lo + hi)
        if worst_case_unified(T, 10.0**mid, constants) <= beta:
            lo = mid
        else:
            hi = mid
    return 10.0**lo


def length_neutral_weights(T: int, kl_tok_max: float, tv_tok_max: float) -> np.ndarray:
    """[T] LN-TRM weights w_t = min(1, (T−t)ε, sqrt((T−t)δ/2)): the Adaptive-hybrid future factor
    (proofs.bounds.length_neutral_weight)."""
    w = formulas.active().length_neutral_weight(float(T), np.arange(1, T + 1, dtype=np.float64),
                                                 _finite(kl_tok_max), tv_tok_max)
    return np.broadcast_to(w, (T,)).astype(np.float64)
