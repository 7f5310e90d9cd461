"""Support violations and what they do to each Monte-Carlo estimate.

Two violations can occur at a context c that the roll chain reaches with positive probability:

- θ off roll's support: π_θ(v|c) > 0 = π_roll(v|c) for some v (e.g. top-p truncation at rollout).
  Importance sampling never sees those tokens, so E_roll[ρ_t − 1 | c] = −m(c) with
  m(c) = Σ_{v: π_roll(v|c)=0} π_θ(v|c) instead of 0. Consequences:
    J_roll, objective_gap   valid (the θ chain is drawn from π_θ itself, not reweighted)
    surrogate               L' = E_roll[R Σ_t(ρ_t − 1)] is still estimated without bias by the plain
                            mean of R·Σ_t(ρ_t − 1); the baseline control variate (R − b) is not, since
                            E_roll[Σ_t(ρ_t − 1)] = −Σ_t E[m(c_t)] ≠ 0; it is switched off
    error                   valid with the plain surrogate: J(π_θ) − J(π_roll) − L'
    kl_seq, kl_seq_k1       valid (D_KL(roll ‖ θ) only weighs tokens π_roll can emit)
    kl_seq_k3               biased: E_roll[Σ k3] = D_KL^seq − Σ_t E[m(c_t)]; not reported
    bounds                  no bound on |Error| applies (every proof needs E_roll[ρ_t | c] = 1)
- roll off θ's support: π_θ(v|c) = 0 < π_roll(v|c). D_KL(roll ‖ θ)(c) = +inf, so
    kl_seq, kl_seq_k1, kl_seq_k3   the true value is +inf; a sample mean (finite when no sampled
                            sequence met the token, infinite otherwise) is not an estimate of it;
                            reported as +inf without a standard error
    everything else         valid (ρ_t = 0 is a finite ratio); the KL-driven bound terms sit at their cap

Finite-state pairs: the facts come from the exact tables (every context reachable under π_roll).
Neural family: from the full distributions of every sampled context, so a violation at contexts
the sample never visited is not seen (stated in the notes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Status of an estimate: a finite mean with a standard error; the true value is +inf; or biased
#: (not reported).
VALID, INFINITE, BIASED = "valid", "infinite", "biased"
KL_ESTIMATES = ("kl_seq", "kl_seq_k1", "kl_seq_k3")


@dataclass
class SupportFacts:
    """What is known about support violations at contexts the roll chain reaches.

    theta_off_roll       π_θ > 0 = π_roll at some such context
    theta_off_roll_mass  Σ_t E_roll[m(c_t)] (expected per sequence), when known
    roll_off_theta       π_θ = 0 < π_roll at some such context (D_KL = +inf there)
    source               'exact tables' or 'sampled contexts'
    where                a named context for each violation found, when known
    """

    theta_off_roll: bool = False
    theta_off_roll_mass: float | None = None
    roll_off_theta: bool = False
    source: str = "exact tables"
    where: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"theta_off_roll_support": self.theta_off_roll, "theta_off_roll_mass_per_sequence": self.theta_off_roll_mass,
                "roll_off_theta_support": self.roll_off_theta, "source": self.source, "where": dict(self.where)}


def finite_state_facts(pair) -> SupportFacts:
    """Support facts of an automaton pair with horizon T, from its tables: contexts (t, s) with s
    reachable under π_roll before token t."""
    S, V = pair.S, pair.V
    roll = pair.roll.reshape(-1, V)
    theta = pair.theta.reshape(-1, V)
    off_mass = np.where(roll == 0, theta, 0.0).sum(axis=1)          # m(row)
    zero_theta = ((roll > 0) & (theta == 0)).any(axis=1)
    bad_rows = (off_mass > 0) | zero_theta
    facts = SupportFacts()
    if not bad_rows.any():
        return facts
    for t, reach in _roll_reachable(pair):
        rows = reach if not pair.time_dependent else reach + t * S
        s_off = rows[off_mass[rows] > 0]
        s_zero = rows[zero_theta[rows]]
        if s_off.size and not facts.theta_off_roll:
            facts.theta_off_roll = True
            facts.where["theta_off_roll_support"] = pair.describe_context(t + 1, int(s_off[0] % S))
        if s_zero.size and not facts.roll_off_theta:
            facts.roll_off_theta = True
            facts.where["roll_off_theta_support"] = pair.describe_context(t + 1, int(s_zero[0] % S))
        if facts.theta_off_roll and facts.roll_off_theta:
            break
    if facts.theta_off_roll:
        facts.theta_off_roll_mass = _expected_off_mass(pair, off_mass)
    return facts


def _roll_reachable(pair):
    """Yield (t, states reachable under π_roll before token t+1) for t = 0..T−1, stopping early for a
    time-homogeneous pair once the reachable sets repeat (later positions add nothing new)."""
    current = np.flatnonzero(pair.init > 0)
    seen = set()
    for t in range(pair.T):
        yield t, current
        if not pair.time_dependent:
            key = current.tobytes()
            if key in seen:
                return
            seen.add(key)
        probs = pair.roll[t] if pair.time_dependent else pair.roll
        emit = probs[current] > 0                                      # [k, V]
        current = np.unique(pair.next_state[current][emit])


def _expected_off_mass(pair, off_mass: np.ndarray) -> float:
    """Σ_t ⟨d_t^roll, m⟩: the expected number of θ-probability units per sequence that importance
    sampling cannot see (forward pass over the roll chain)."""
    S = pair.S
    d = np.asarray(pair.init, dtype=np.float64)
    total = 0.0
    flat_next = pair.next_state.ravel()
    for t in range(pair.T):
        probs = pair.roll[t] if pair.time_dependent else pair.roll
        m = off_mass[t * S:(t + 1) * S] if pair.time_dependent else off_mass
        total += float(d @ m)
        d = np.bincount(flat_next, weights=(d[:, None] * probs).ravel(), minlength=S)
    return total


def merge_sampled(facts: SupportFacts | None, sampled: dict | None, log_ratio_sums=None) -> SupportFacts:
    """Facts from the tables (if any) completed with what sampling saw: the family's counts of
    violating contexts (``sampled``) and sequences whose log-ratio sum is −inf (ρ_t = 0 sampled)."""
    out = facts if facts is not None else SupportFacts(source="sampled contexts")
    if sampled:
        if sampled.get("theta_off_roll_contexts", 0) > 0 and not out.theta_off_roll:
            out.theta_off_roll = True
            out.theta_off_roll_mass = sampled.get("theta_off_roll_mass_per_sequence")
            out.where.setdefault("theta_off_roll_support", "sampled contexts")
        if sampled.get("roll_off_theta_contexts", 0) > 0 and not out.roll_off_theta:
            out.roll_off_theta = True
            out.where.setdefault("roll_off_theta_support", "sampled contexts")
    if log_ratio_sums is not None and bool(np.isneginf(np.asarray(log_ratio_sums)).any()) and not out.roll_off_theta:
        out.roll_off_theta = True
        out.where.setdefault("roll_off_theta_support", "a sampled token with π_θ = 0")
    return out


#: Estimates built on W = Π_t ρ_t − 1 − Σ_t(ρ_t − 1) (THEORY §10); they need E_roll[W] = 0.
W_ESTIMATES = ("worst_case_error", "half_mean_abs_W", "second_moment")


def assess(facts: SupportFacts, estimates: dict) -> tuple[dict, list[str], bool]:
    """({estimate name: status}, notes, bounds_apply) for the estimates of :mod:`gpu_sim.simulate`.

    A mean or standard error that is not finite is never reported as valid: an infinite mean is
    'infinite' when the KL is truly infinite and 'biased' otherwise."""
    status = {name: VALID for name in estimates}
    notes = []
    if facts.theta_off_roll:
        status["kl_seq_k3"] = BIASED
        w_based = [name for name in W_ESTIMATES if name in status]
        for name in w_based:
            status[name] = BIASED
        if w_based:
            notes.append(f"{', '.join(w_based)}: sup_R|Error| = E_roll[W⁻] and E[W²] rest on E_roll[W] = 0, which fails "
                         "when π_θ has mass off π_roll's support; not reported")
        mass = facts.theta_off_roll_mass
        mass_text = f" (Σ_t E[m(c_t)] = {mass:.4g} per sequence)" if mass is not None and math.isfinite(mass) else ""
        where = facts.where.get("theta_off_roll_support", "")
        notes.append(f"support violation: π_θ > 0 where π_roll = 0{f' at {where}' if where else ''}{mass_text}. "
                     "Importance sampling cannot see that mass: no bound on |Error| applies (bounds_apply is false). "
                     "The surrogate is the plain mean of R·Σ_t(ρ_t − 1), without the baseline control variate "
                     "(which would be biased), and stays an unbiased estimate of L' = E_roll[R Σ_t(ρ_t − 1)]; "
                     "error, objective_gap, J_roll, kl_seq and kl_seq_k1 remain valid; "
                     "kl_seq_k3 is biased low by that mass and is not reported")
    if facts.roll_off_theta:
        for name in KL_ESTIMATES:
            if status[name] == VALID:
                status[name] = INFINITE
        where = facts.where.get("roll_off_theta_support", "")
        notes.append(f"support violation: π_θ = 0 < π_roll{f' at {where}' if where else ''}, so D_KL(roll ‖ θ) = +inf "
                     "there: kl_seq, kl_seq_k1 and kl_seq_k3 are +inf (written without a standard error; a finite "
                     "sample mean would not estimate them); J_roll, objective_gap, surrogate and error remain valid; "
                     "KL-driven bound terms sit at their cap 1")
    if facts.source == "sampled contexts" and not (facts.theta_off_roll or facts.roll_off_theta):
        notes.append("support checked on the full distributions of every sampled context: no violation seen "
                     "(contexts never sampled are not checked)")
    for name, est in estimates.items():
        if status[name] == VALID and not (math.isfinite(est.mean) and math.isfinite(est.se)):
            status[name] = BIASED
            notes.append(f"{name}: the sample mean or its standard error is not finite ({est.mean!r} ± {est.se!r}); "
                         "not reported")
    return status, notes, not facts.theta_off_roll
