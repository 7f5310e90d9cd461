"""The independent oracle: every quantity computed by listing all V^T sequences of every prompt.

Nothing here uses value functions or the chain rule: probabilities are products over explicit
sequences, ratios ρ_t = π_θ(y_t|c_t)/π_roll(y_t|c_t) are taken token by token, and every
expectation is a weighted sum over (prompt, sequence). The dynamic programme in
:mod:`numerics.exact` is tested against this module.

Prompts are the automaton's initial states with positive probability; sequences are numbered in
base V with the first token most significant (the tabular format's order).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from numerics.divergence import expectation_with_inf, kl_from_log_ratio, token_chi2, token_kl, token_tv
from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair, as_automaton
from numerics.bounds import pinsker_cap
from numerics.result import ExactQuantities

#: Largest number of (prompt, sequence, position) elements enumerated: X·V^T·T.
DEFAULT_BUDGET = 2**22


def enumeration_size(pair: AutomatonPair) -> int | float:
    """X·V^T·T, the number of (prompt, sequence, position) elements enumeration touches; +inf when
    V^T exceeds 2^256 (beyond any budget, and not worth forming as an integer of T·log2 V bits)."""
    X = int(np.count_nonzero(pair.init > 0))
    if pair.V > 1 and pair.T * math.log2(pair.V) > 256:
        return math.inf
    return X * pair.V**pair.T * pair.T


@dataclass(frozen=True)
class SequenceTable:
    """All sequences of all prompts. Arrays are [X, V^T] or [T, X, V^T]."""

    prompt_states: np.ndarray  # [X] initial states with positive probability
    prompt_prob: np.ndarray    # [X]
    log_p_roll: np.ndarray     # [X, V^T] log P^roll(y|x)
    log_p_theta: np.ndarray    # [X, V^T] log P^θ(y|x)
    reward: np.ndarray         # [X, V^T] R on the final state
    rho_minus_one: np.ndarray  # [T, X, V^T] ρ_t − 1 = (π_θ − π_roll)/π_roll at y_t, exact for ρ near 1;
                               # 0 where π_roll(y_t|c_t) = 0 (such sequences have P^roll = 0)
    kl_context: np.ndarray     # [T, X, V^T] D_KL at context c_t(y)
    tv_context: np.ndarray     # [T, X, V^T] D_TV at context c_t(y)
    reachable: np.ndarray      # [T, X, V^T] c_t(y) has positive probability under roll or θ


def enumerate_sequences(pair: AutomatonPair | TabularPair, T: int | None = None,
                        budget: int = DEFAULT_BUDGET) -> SequenceTable:
    auto = as_automaton(pair, T)
    T, V = auto.T, auto.V
    size = enumeration_size(auto)
    if size > budget:
        shown = f"{size:,}" if math.isfinite(size) else "more than 2^256"
        raise TRMInputError(
            f"enumeration needs X·V^T·T = {shown} elements (V = {V}, T = {T}), beyond the budget of "
            f"{budget:,}; use the dynamic programme instead (D_TV^seq is then reported as unavailable)"
        )
    prompt_states = np.flatnonzero(auto.init > 0)
    X, M = prompt_states.size, V**T
    seq = np.arange(M)
    states = np.repeat(prompt_states[:, None], M, axis=1)
    log_roll = np.zeros((X, M))
    log_theta = np.zeros((X, M))
    alive_roll = np.ones((X, M), dtype=bool)
    alive_theta = np.ones((X, M), dtype=bool)
    x = np.empty((T, X, M))
    kl_ctx = np.empty((T, X, M))
    tv_ctx = np.empty((T, X, M))
    reach = np.empty((T, X, M), dtype=bool)
    with np.errstate(divide="ignore"):
        for t in range(T):
            roll_t, theta_t = auto.policies_at(t)
            token = (seq // V ** (T - 1 - t)) % V
            p = roll_t[states, token]
            q = theta_t[states, token]
            kl_ctx[t] = token_kl(roll_t, theta_t)[states]
            tv_ctx[t] = token_tv(roll_t, theta_t)[states]
            reach[t] = alive_roll | alive_theta
            x[t] = np.divide(q - p, p, out=np.zeros_like(q), where=p > 0)
            log_roll += np.log(p)
            log_theta += np.log(q)
            alive_roll &= p > 0
            alive_theta &= q > 0
            states = auto.next_state[states, token]
    return SequenceTable(prompt_states, auto.init[prompt_states], log_roll, log_theta,
                         auto.reward[states], x, kl_ctx, tv_ctx, reach)


def _weights(table: SequenceTable) -> tuple[np.ndarray, np.ndarray]:
    """(P(x)·P^roll(y|x), P(x)·P^θ(y|x)) as [X, V^T]."""
    w = table.prompt_prob[:, None]
    return w * np.exp(table.log_p_roll), w * np.exp(table.log_p_theta)


def suffix_ratio_minus_one(table: SequenceTable) -> np.ndarray:
    """[T, X, V^T] Π_(j>t) ρ_j − 1 = expm1(Σ_(j>t) log1p(ρ_j − 1)), accurate when the product is near 1."""
    x = table.rho_minus_one
    with np.errstate(divide="ignore"):
        logs = np.log1p(x)
    tail = np.zeros_like(x)
    for t in range(x.shape[0] - 2, -1, -1):
        tail[t] = tail[t + 1] + logs[t + 1]
    return np.expm1(tail)


def sequence_ratio(table: SequenceTable) -> np.ndarray:
    """[X, V^T] Π_t ρ_t, the sequence importance weight P^θ(y|x)/P^roll(y|x)."""
    with np.errstate(divide="ignore"):
        return np.exp(np.log1p(table.rho_minus_one).sum(axis=0))


def surrogate_bracket(table: SequenceTable) -> np.ndarray:
    """f(x, y) = Π_t ρ_t − 1 − Σ_t (ρ_t − 1), so that Error = E_roll[R f] for every reward R.

    Evaluated in the telescoped form Σ_t (ρ_t − 1)(Π_(j>t) ρ_j − 1), which avoids the cancellation
    of 1 − 1 in the textbook form (f is second order in the mismatch)."""
    return (table.rho_minus_one * suffix_ratio_minus_one(table)).sum(axis=0)


def exact_by_enumeration(pair: AutomatonPair | TabularPair, T: int | None = None,
                         reward: np.ndarray | None = None, budget: int = DEFAULT_BUDGET) -> ExactQuantities:
    """Every quantity of :class:`ExactQuantities` by summing over all sequences.

    ``reward`` ([X, V^T], optional) replaces the pair's reward with an arbitrary function of the
    whole sequence (X = prompts with positive probability, in the order of ``prompt_states``).
    """
    auto = as_automaton(pair, T)
    table = enumerate_sequences(auto, budget=budget)
    R = table.reward if reward is None else np.asarray(reward, dtype=np.float64)
    if R.shape != table.reward.shape:
        raise TRMInputError(f"reward: expected shape {table.reward.shape} (prompts, V^T), got {R.shape}")
    P_roll, P_theta = _weights(table)
    x = table.rho_minus_one
    delta_bracket = -(x * suffix_ratio_minus_one(table)).sum(axis=0)   # Σ_t (ρ_t − 1)(1 − Π_(j>t) ρ_j)

    J_roll = float((P_roll * R).sum())
    J_theta = float((P_theta * R).sum())
    surrogate = float((P_roll * R * x.sum(axis=0)).sum())
    with np.errstate(invalid="ignore"):
        log_ratio = np.where(P_roll > 0, table.log_p_theta - table.log_p_roll, 0.0)
    off_support = float(P_theta[P_roll == 0].sum())
    kl_seq = kl_from_log_ratio(P_roll, log_ratio, off_support)
    tv_seq = float(0.5 * np.abs(P_theta - P_roll).sum())

    flat = P_roll.reshape(1, -1)
    kl_pos = expectation_with_inf(flat, table.kl_context.reshape(auto.T, -1), axis=1)
    tv_pos = (flat * table.tv_context.reshape(auto.T, -1)).sum(axis=1)
    kl_max, kl_where = _reachable_max(table, table.kl_context)
    tv_max, tv_where = _reachable_max(table, table.tv_context)
    sm = second_moment_by_enumeration(auto, budget=budget)
    return ExactQuantities(
        T=auto.T, J_roll=J_roll, J_theta=J_theta, surrogate=surrogate, error=J_theta - J_roll - surrogate,
        delta_identity=float((P_roll * R * delta_bracket).sum()),
        kl_tok_max=kl_max, kl_tok_max_context=kl_where, tv_tok_max=tv_max, tv_tok_max_context=tv_where,
        kl_seq=kl_seq, tv_seq=tv_seq, tv_seq_upper=pinsker_cap(kl_seq),
        tv_pos_mean=tv_pos, kl_pos_mean=kl_pos, theta_mass_off_roll_support=off_support,
        method="enumeration", chi2_tok_max=sm.chi2_tok_max, chi2_tok_max_context=sm.chi2_tok_max_context,
        chi2_seq=sm.chi2_seq, second_moment=sm.second_moment,
    )


def _reachable_max(table: SequenceTable, values: np.ndarray) -> tuple[float, str]:
    masked = np.where(table.reachable, values, -np.inf)
    t, x, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
    return float(masked[t, x, j]), f"position t={t + 1}, prompt state {table.prompt_states[x]}, sequence {j}"


def total_variation_seq(pair: AutomatonPair | TabularPair, T: int | None = None,
                        budget: int = DEFAULT_BUDGET) -> float:
    """D_TV^seq = E_x TV(P^roll(·|x), P^θ(·|x)), exact by enumeration."""
    table = enumerate_sequences(pair, T, budget=budget)
    P_roll, P_theta = _weights(table)
    return float(0.5 * np.abs(P_theta - P_roll).sum())


@dataclass(frozen=True)
class WorstCase:
    """sup over rewards R: (x, y) → [0, 1] of |Error|, and a reward attaining it."""

    value: float
    reward: np.ndarray          # [X, V^T] in {0, 1}
    prompt_states: np.ndarray   # [X]


def worst_case_error(pair: AutomatonPair | TabularPair, T: int | None = None,
                     budget: int = DEFAULT_BUDGET) -> WorstCase:
    """sup_R |Error| = ½ E_roll|Π_t ρ_t − 1 − Σ_t (ρ_t − 1)|, attained by R = 1[bracket > 0].

    Error is linear in R with Error = E_roll[R f] and E_roll[f] = 0 (proofs.worst_case_reward),
    so sup_R Error = E_roll[f⁺] = ½ E_roll|f| = −inf_R Error. Valid when π_θ puts no mass outside
    π_roll's support (theta_mass_off_roll_support = 0); refused otherwise.
    """
    auto = as_automaton(pair, T)
    table = enumerate_sequences(auto, budget=budget)
    P_roll, P_theta = _weights(table)
    off_support = float(P_theta[P_roll == 0].sum())
    if off_support > 0:
        raise TRMInputError(
            f"worst-case error: π_θ puts mass {off_support:.3g} on sequences π_roll cannot produce; "
            "the importance-sampling surrogate does not see them and the worst case over rewards is unbounded by L'"
        )
    f = surrogate_bracket(table)
    reward = ((f > 0) & (P_roll > 0)).astype(np.float64)
    return WorstCase(float(0.5 * (P_roll * np.abs(f)).sum()), reward, table.prompt_states)


# ----------------------------------------------------------------------------- second moments

@dataclass(frozen=True)
class EnumeratedSecondMoment:
    """The same quantities from the list of every sequence (the independent oracle), plus the
    per-sequence brackets used to check the identities: W in telescoped form and W as the martingale
    transform Σ_t (M_{t−1} − 1) u_t, each [X, V^T], and the roll weights [X, V^T]."""

    chi2_tok_max: float
    chi2_tok_max_context: str
    chi2_seq: float
    second_moment: float
    mean_W: float
    prefix_chi2: np.ndarray
    W: np.ndarray
    W_transform: np.ndarray
    weights: np.ndarray
    theta_off_support: bool


def second_moment_by_enumeration(pair: AutomatonPair | TabularPair, T: int | None = None,
                                 budget: int | None = None) -> EnumeratedSecondMoment:
    """E[W²], χ²_seq, χ²_max and E[W] by summing over all sequences (no recursion, no orthogonality)."""
    auto = as_automaton(pair, T)
    table = enumerate_sequences(auto, budget=DEFAULT_BUDGET if budget is None else budget)
    P_roll, P_theta = _weights(table)
    x = table.rho_minus_one                                       # [T, X, M]
    with np.errstate(divide="ignore"):
        logs = np.log1p(x)
    prefix_logs = np.cumsum(logs, axis=0)
    M_minus_one = np.expm1(prefix_logs)                           # M_t − 1, t = 1..T
    before = np.concatenate([np.zeros_like(x[:1]), M_minus_one[:-1]])   # M_{t−1} − 1
    W = surrogate_bracket(table)
    W_transform = (before * x).sum(axis=0)
    off_mass = float(P_theta[P_roll == 0].sum())
    off = off_mass > 0
    prefix = np.concatenate([[0.0], np.einsum("xm,txm->t", P_roll, M_minus_one**2)])
    chi2_ctx = _context_chi2(auto, table)
    masked = np.where(table.reachable, chi2_ctx, -np.inf)
    t, xi, j = np.unravel_index(int(np.argmax(masked)), masked.shape)
    where = f"position t={t + 1}, prompt state {table.prompt_states[xi]}, sequence {j}"
    return EnumeratedSecondMoment(
        chi2_tok_max=float(masked[t, xi, j]), chi2_tok_max_context=where,
        chi2_seq=float("inf") if off else float(prefix[-1]),
        second_moment=float("inf") if off else float((P_roll * W**2).sum()),
        mean_W=float((P_roll * W).sum()), prefix_chi2=prefix, W=W, W_transform=W_transform, weights=P_roll,
        theta_off_support=off,
    )


def _context_chi2(auto: AutomatonPair, table) -> np.ndarray:
    """[T, X, V^T] χ²(c_t(y)) along every enumerated sequence (states replayed token by token)."""
    T, V = auto.T, auto.V
    M = V**T
    seq = np.arange(M)
    states = np.repeat(table.prompt_states[:, None], M, axis=1)
    out = np.empty((T, table.prompt_states.size, M))
    for t in range(T):
        roll_t, theta_t = auto.policies_at(t)
        out[t] = token_chi2(roll_t, theta_t)[states]
        token = (seq // V ** (T - 1 - t)) % V
        states = auto.next_state[states, token]
    return out
