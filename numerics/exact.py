"""Exact quantities by dynamic programming over (position, state), linear in T.

With d_t^π the state distribution before token t (d_1 = init), V_t^roll the roll value function
(V_{T+1} = R) and W_t the importance-weighted future E_roll[R Π_{j≥t} ρ_j | s_t]:
    J(π)  = ⟨d_{T+1}^π, R⟩
    L'    = Σ_t ⟨d_t^roll, (M_t^{θ|roll} − M_t^roll) V_{t+1}^roll⟩          (per-token form of L')
    Δ     = Σ_t ⟨d_t^roll, (M_t^{θ|roll} − M_t^roll)(V_{t+1}^roll − W_{t+1})⟩  (tower property on Δ)
where M^{θ|roll} is π_θ restricted to tokens π_roll can emit (what importance sampling sees).
Everything except D_TV^seq is computed here; D_TV^seq is exact only by enumeration
(:mod:`numerics.enumeration`) and is filled in from there when X·V^T fits its budget.
"""
from __future__ import annotations

import numpy as np

from numerics.divergence import expectation_with_inf, token_kl, token_tv
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair, tabular_to_automaton
from numerics.bounds import pinsker_cap
from numerics.result import ExactQuantities
from numerics.dynamics import operators, state_distributions, value_functions
from numerics.transition import TransitionOperator


def as_automaton(pair: AutomatonPair | TabularPair, T: int | None = None) -> AutomatonPair:
    """Either representation as an automaton with a definite horizon T."""
    if isinstance(pair, TabularPair):
        if T is not None and T != pair.T:
            raise TRMInputError(f"--T {T} is inconsistent with the tabular pair, whose shapes imply T = {pair.T}")
        return tabular_to_automaton(pair)
    return pair.with_horizon(T)


def _reachability(pair: AutomatonPair, probs: np.ndarray) -> np.ndarray:
    """[T, S] boolean: state s is reachable before token t+1 with positive probability under ``probs``.

    For time-homogeneous laws the sequence of reachable sets is eventually periodic; once a set
    repeats, later positions add nothing new to the union and the rows are filled from the cycle.
    """
    T, S = pair.T, pair.S
    support = TransitionOperator(pair.next_state, (probs > 0).astype(np.float64))
    reach = np.zeros((T, S), dtype=bool)
    current = pair.init > 0
    seen: dict[bytes, int] = {}
    for t in range(T):
        reach[t] = current
        if support.homogeneous:
            key = current.tobytes()
            if key in seen:
                start = seen[key]
                period = t - start
                for u in range(t + 1, T):
                    reach[u] = reach[start + (u - start) % period]
                break
            seen[key] = t
        current = support.push(current.astype(np.float64), t) > 0
    return reach


def _argmax_context(pair: AutomatonPair, values: np.ndarray, reach: np.ndarray) -> tuple[float, str]:
    """Max of per-context ``values`` ([T, S] or [S]) over reachable (t, s), with the context named."""
    T = pair.T
    table = values if values.ndim == 2 else np.broadcast_to(values, (T, pair.S))
    masked = np.where(reach, table, -np.inf)
    flat = int(np.argmax(masked))
    t, s = divmod(flat, pair.S)
    return float(masked[t, s]), pair.describe_context(t + 1, s)


def exact_quantities(pair: AutomatonPair | TabularPair, T: int | None = None,
                     tv_seq_budget: int | None = None, second_moments: bool = True) -> ExactQuantities:
    """Every exact quantity of THEORY §2–§3 for the pair at horizon T (float64).

    With ``second_moments`` the χ² quantities of THEORY §10 (χ²_max, χ²_seq, E[W²]) are added by
    :func:`numerics.second_moment.second_moment_dp` (another pass linear in T).

    D_TV^seq is computed by enumeration when X·V^T·T is within ``tv_seq_budget`` elements
    (default :data:`numerics.enumeration.DEFAULT_BUDGET`), else reported as None with the Pinsker
    upper bound min(1, sqrt(D_KL^seq/2)) alongside.
    """
    from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, total_variation_seq

    auto = as_automaton(pair, T)
    T, S = auto.T, auto.S
    roll_op, theta_op, theta_seen_op = operators(auto)
    d_roll = state_distributions(auto, roll_op)
    d_theta = state_distributions(auto, theta_op)
    V = value_functions(auto, roll_op)
    W = value_functions(auto, theta_seen_op)

    # (M^{θ|roll} − M^roll) f_{t+1} for all t at once; M^roll V_{t+1} = V_t.
    # and M^{θ|roll} W_{t+1} = W_t.
    seen_V = theta_seen_op.pull_each(V[1:])
    roll_W = roll_op.pull_each(W[1:])
    surrogate_terms = np.einsum("ts,ts->t", d_roll[:T], seen_V - V[:T])
    delta_terms = np.einsum("ts,ts->t", d_roll[:T], (seen_V - V[:T]) - (W[:T] - roll_W))

    J_roll = float(d_roll[T] @ auto.reward)
    J_theta = float(d_theta[T] @ auto.reward)
    surrogate = float(surrogate_terms.sum())

    if np.any((auto.roll == 0) & (auto.theta > 0)):
        seen_mass = value_functions(auto, theta_seen_op, terminal=np.ones(S))[0]
        off_support = max(0.0, 1.0 - float(auto.init @ seen_mass))
    else:
        off_support = 0.0

    kl = token_kl(auto.roll, auto.theta)
    tv = token_tv(auto.roll, auto.theta)
    kl_t = kl if kl.ndim == 2 else np.broadcast_to(kl, (T, S))
    tv_t = tv if tv.ndim == 2 else np.broadcast_to(tv, (T, S))
    kl_pos = expectation_with_inf(d_roll[:T], kl_t, axis=1)
    tv_pos = (d_roll[:T] * tv_t).sum(axis=1)

    reach = _reachability(auto, auto.roll) | _reachability(auto, auto.theta)
    kl_max, kl_ctx = _argmax_context(auto, kl, reach)
    tv_max, tv_ctx = _argmax_context(auto, tv, reach)

    kl_seq = float(kl_pos.sum())
    budget = DEFAULT_BUDGET if tv_seq_budget is None else tv_seq_budget
    tv_seq = total_variation_seq(auto) if enumeration_size(auto) <= budget else None

    chi2 = {}
    if second_moments:
        from numerics.second_moment import second_moment_dp

        sm = second_moment_dp(auto)
        chi2 = dict(chi2_tok_max=sm.chi2_tok_max, chi2_tok_max_context=sm.chi2_tok_max_context,
                    chi2_seq=sm.chi2_seq, second_moment=sm.second_moment)
    return ExactQuantities(
        T=T, J_roll=J_roll, J_theta=J_theta, surrogate=surrogate,
        error=J_theta - J_roll - surrogate, delta_identity=float(delta_terms.sum()),
        kl_tok_max=kl_max, kl_tok_max_context=kl_ctx, tv_tok_max=tv_max, tv_tok_max_context=tv_ctx,
        kl_seq=kl_seq, tv_seq=tv_seq, tv_seq_upper=pinsker_cap(kl_seq),
        tv_pos_mean=tv_pos, kl_pos_mean=kl_pos,
        theta_mass_off_roll_support=off_support, method="dynamic programming", **chi2,
    )
