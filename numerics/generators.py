"""Seeded random policy pairs and the mismatch models of FIELD.md §3.

A pair is built in two steps: a base (training-side) logit table with a controllable entropy
profile, π_θ = softmax(base), and a rollout-side perturbation, π_roll = softmax(perturb(base)).
The rollout engine is the noisy side, as in real stacks; KL is always roll ‖ θ.

Entropy profile: a fraction ``fork_fraction`` of contexts are high-entropy "forks" (logits of
scale ``fork_scale``); the rest are near-deterministic (one token lifted by ``peak`` nats).

Mismatch models (``MismatchModel.kind``):
    none         π_roll = π_θ
    dense        Gaussian logit noise of scale ``sigma`` on every context (kernel/reduction noise)
    heavy        Student-t logit noise (``df`` degrees of freedom) of scale ``sigma``
    flips        sparse "routing flips": with probability ``rate`` per context add N(0, flip_sigma²)
                 noise, elsewhere dense noise of scale ``sigma``
    temperature  π_roll = softmax(base / tau)
All randomness comes from the explicit ``numpy.random.Generator``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.errors import TRMInputError
from numerics.pair import AutomatonPair, TabularPair, num_prefixes

FAMILIES = ("automaton", "kgram", "counter", "tabular")
MISMATCH_KINDS = ("none", "dense", "heavy", "flips", "temperature")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Normalised exp over the last axis, computed stably in float64."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class EntropyProfile:
    fork_fraction: float = 0.2
    peak: float = 4.0
    fork_scale: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.fork_fraction <= 1.0:
            raise TRMInputError(f"fork_fraction = {self.fork_fraction}: must lie in [0, 1]")
        if not (np.isfinite(self.peak) and self.peak >= 0):
            raise TRMInputError(f"peak = {self.peak}: must be a finite non-negative number of nats")
        if not (np.isfinite(self.fork_scale) and self.fork_scale >= 0):
            raise TRMInputError(f"fork_scale = {self.fork_scale}: must be finite and non-negative")

    def logits(self, rng: np.random.Generator, shape: tuple[int, ...], V: int) -> np.ndarray:
        """Base logits of shape [*shape, V]."""
        fork = rng.random(shape) < self.fork_fraction
        noise = rng.standard_normal((*shape, V))
        top = rng.integers(0, V, size=shape)
        lifted = noise.copy()
        np.put_along_axis(lifted, top[..., None], np.take_along_axis(noise, top[..., None], -1) + self.peak, -1)
        return np.where(fork[..., None], self.fork_scale * noise, lifted)


@dataclass(frozen=True)
class MismatchModel:
    kind: str = "dense"
    sigma: float = 0.1
    df: float = 3.0
    rate: float = 0.05
    flip_sigma: float = 1.0
    tau: float = 1.1

    def __post_init__(self):
        if self.kind not in MISMATCH_KINDS:
            raise TRMInputError(f"mismatch = {self.kind!r}: unknown model; choose one of {', '.join(MISMATCH_KINDS)}")
        for name in ("sigma", "flip_sigma"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise TRMInputError(f"{name} = {value}: must be finite and non-negative")
        if not (np.isfinite(self.df) and self.df > 0):
            raise TRMInputError(f"df = {self.df}: Student-t degrees of freedom must be positive")
        if not 0.0 <= self.rate <= 1.0:
            raise TRMInputError(f"rate = {self.rate}: a flip probability must lie in [0, 1]")
        if not (np.isfinite(self.tau) and self.tau > 0):
            raise TRMInputError(f"tau = {self.tau}: temperature must be positive")

    def rollout_logits(self, rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
        """Rollout-side logits for training-side ``base`` [..., V]."""
        if self.kind == "none":
            return base.copy()
        if self.kind == "dense":
            return base + self.sigma * rng.standard_normal(base.shape)
        if self.kind == "heavy":
            return base + self.sigma * rng.standard_t(self.df, size=base.shape)
        if self.kind == "flips":
            flip = rng.random(base.shape[:-1]) < self.rate
            small = self.sigma * rng.standard_normal(base.shape)
            large = self.flip_sigma * rng.standard_normal(base.shape)
            return base + np.where(flip[..., None], large, small)
        return base / self.tau


def _policy_pair(rng, shape, V, profile, mismatch):
    base = profile.logits(rng, shape, V)
    return softmax(mismatch.rollout_logits(rng, base)), softmax(base)


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise TRMInputError(f"{name} = {value!r}: must be an integer ≥ {minimum}")
    return int(value)


def random_automaton(rng: np.random.Generator, *, states: int = 8, vocab: int = 4, T: int = 8,
                     prompts: int = 2, time_dependent: bool = False,
                     profile: EntropyProfile = EntropyProfile(),
                     mismatch: MismatchModel = MismatchModel()) -> AutomatonPair:
    """Random transition table, uniform rewards in [0, 1], init uniform over ``prompts`` states."""
    S, V, T = _positive_int("states", states), _positive_int("vocab", vocab), _positive_int("T", T)
    prompts = _positive_int("prompts", prompts)
    if prompts > S:
        raise TRMInputError(f"prompts = {prompts}: cannot exceed states = {S}")
    next_state = rng.integers(0, S, size=(S, V))
    shape = (T, S) if time_dependent else (S,)
    roll, theta = _policy_pair(rng, shape, V, profile, mismatch)
    init = np.zeros(S)
    init[rng.choice(S, size=prompts, replace=False)] = 1.0 / prompts
    return AutomatonPair(init, next_state, roll, theta, rng.random(S), T)


def random_kgram(rng: np.random.Generator, *, vocab: int = 4, k: int = 2, T: int = 8, prompts: int = 2,
                 profile: EntropyProfile = EntropyProfile(),
                 mismatch: MismatchModel = MismatchModel()) -> AutomatonPair:
    """A k-gram language model: the state is the last k tokens (base V), the reward a random
    function of the final window. Prompts are random initial windows."""
    V, k, T = _positive_int("vocab", vocab), _positive_int("k", k), _positive_int("T", T)
    S = V**k
    prompts = _positive_int("prompts", prompts)
    if prompts > S:
        raise TRMInputError(f"prompts = {prompts}: cannot exceed the V^k = {S} windows")
    s = np.arange(S)
    next_state = (s[:, None] * V + np.arange(V)[None, :]) % S
    roll, theta = _policy_pair(rng, (S,), V, profile, mismatch)
    init = np.zeros(S)
    init[rng.choice(S, size=prompts, replace=False)] = 1.0 / prompts
    return AutomatonPair(init, next_state, roll, theta, rng.random(S), T)


def random_counter(rng: np.random.Generator, *, vocab: int = 4, T: int = 8, cap: int | None = None,
                   profile: EntropyProfile = EntropyProfile(),
                   mismatch: MismatchModel = MismatchModel()) -> AutomatonPair:
    """Reward depends on the whole history: the state counts emissions of token 0 (capped at
    ``cap``, default min(T, 32)) and R = count / cap at the end."""
    V, T = _positive_int("vocab", vocab, 2), _positive_int("T", T)
    cap = min(T, 32) if cap is None else _positive_int("cap", cap)
    S = cap + 1
    s = np.arange(S)
    next_state = np.repeat(s[:, None], V, axis=1)
    next_state[:, 0] = np.minimum(s + 1, cap)
    roll, theta = _policy_pair(rng, (S,), V, profile, mismatch)
    init = np.zeros(S)
    init[0] = 1.0
    return AutomatonPair(init, next_state, roll, theta, s / cap, T)


def random_tabular(rng: np.random.Generator, *, vocab: int = 2, T: int = 4, prompts: int = 2,
                   binary_reward: bool = False, profile: EntropyProfile = EntropyProfile(),
                   mismatch: MismatchModel = MismatchModel()) -> TabularPair:
    """A full prefix tree: independent next-token laws at every prefix, rewards on every sequence."""
    V, T, X = _positive_int("vocab", vocab), _positive_int("T", T), _positive_int("prompts", prompts)
    N = num_prefixes(V, T)
    roll, theta = _policy_pair(rng, (X, N), V, profile, mismatch)
    reward = rng.random((X, V**T))
    if binary_reward:
        reward = (reward < 0.5).astype(np.float64)
    prompt = softmax(rng.standard_normal(X))
    return TabularPair(roll, theta, reward, prompt)


def random_pair(family: str, seed: int, **params) -> AutomatonPair | TabularPair:
    """Dispatch by family name with an explicit seed."""
    builders = {"automaton": random_automaton, "kgram": random_kgram, "counter": random_counter,
                "tabular": random_tabular}
    if family not in builders:
        raise TRMInputError(f"family = {family!r}: unknown; choose one of {', '.join(FAMILIES)}")
    return builders[family](np.random.default_rng(seed), **params)


def sparse_violation_pair(p: float) -> AutomatonPair:
    """The family behind "no function of D_KL^seq controls D_KL^(tok,max)" (proofs.propositions).

    T = 2. The first token (same law (p, 1 − p) under both policies) leads to a "bad" context with
    probability p, where π_roll = (½, ½) and π_θ = (a, 1 − a) with 4a(1 − a) = e^(−2), so
    D_KL = 1 there; elsewhere the policies agree. Hence δ = 1 and D_KL^seq = p.
    """
    if not 0.0 < p < 1.0:
        raise TRMInputError(f"p = {p}: the bad context's probability must lie in (0, 1)")
    a = 0.5 * (1.0 - np.sqrt(1.0 - np.exp(-2.0)))
    next_state = np.array([[1, 2], [3, 3], [3, 3], [3, 3]])
    roll = np.array([[p, 1 - p], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    theta = np.array([[p, 1 - p], [a, 1 - a], [0.5, 0.5], [0.5, 0.5]])
    return AutomatonPair(np.array([1.0, 0, 0, 0]), next_state, roll, theta, np.array([0.0, 0, 0, 1.0]), 2)


def independent_violation_pair(p: float, T: int, theta_bad: tuple[float, float] = (0.5, 0.5)) -> AutomatonPair:
    """Violations that occur independently at every position with probability p.

    Two states A, B; in both π_roll = (1 − p, p) and token 1 leads to B, so every context is B with
    probability p independently (the initial one too). π_θ = π_roll in A and ``theta_bad`` in B, so
    D_KL = 0 in A and D_KL(B) > 0 (≈ 0.68 for the default and small p): TRM-Max with δ below D_KL(B)
    accepts with probability (1 − p)^T. Reward 1 for ending in B.
    """
    if not 0.0 < p < 1.0:
        raise TRMInputError(f"p = {p}: a violation probability must lie in (0, 1)")
    roll = np.array([[1 - p, p], [1 - p, p]])
    theta = np.array([[1 - p, p], list(theta_bad)])
    return AutomatonPair(np.array([1 - p, p]), np.array([[0, 1], [0, 1]]), roll, theta, np.array([0.0, 1.0]), T)
