"""Hypothesis strategies for random autoregressive policy pairs ("map, don't filter").

Probabilities are softmaxes of bounded logits; π_θ is π_roll's logits plus a perturbation whose
scale spans 0 … 1 (so equal policies and large mismatches are both drawn), and near-deterministic
contexts arise from logits up to ±8.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from numerics.generators import FAMILIES, MISMATCH_KINDS, EntropyProfile, MismatchModel, random_pair, softmax
from numerics.pair import AutomatonPair, TabularPair, num_prefixes

logit = st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False, width=64)
unit = st.floats(0.0, 1.0, allow_nan=False, width=64)
scale = st.sampled_from([0.0, 0.01, 0.1, 0.3, 1.0]) | st.floats(0.0, 1.0)


def _pair_logits(draw, shape):
    base = draw(arrays(np.float64, shape, elements=logit))
    noise = draw(arrays(np.float64, shape, elements=st.floats(-3.0, 3.0, width=64)))
    return softmax(base), softmax(base + draw(scale) * noise)


@st.composite
def automaton_pairs(draw, max_states=4, max_vocab=3, max_T=5, time_dependent=None):
    S = draw(st.integers(1, max_states))
    V = draw(st.integers(2, max_vocab))
    T = draw(st.integers(1, max_T))
    td = draw(st.booleans()) if time_dependent is None else time_dependent
    next_state = draw(arrays(np.int64, (S, V), elements=st.integers(0, S - 1)))
    roll, theta = _pair_logits(draw, (T, S, V) if td else (S, V))
    init = softmax(draw(arrays(np.float64, (S,), elements=logit)))
    reward = draw(arrays(np.float64, (S,), elements=unit))
    return AutomatonPair(init, next_state, roll, theta, reward, T)


@st.composite
def tabular_pairs(draw, max_prompts=2, max_T=3):
    X = draw(st.integers(1, max_prompts))
    V = draw(st.integers(2, 3))
    T = draw(st.integers(1, max_T if V == 2 else min(max_T, 3)))
    N = num_prefixes(V, T)
    roll, theta = _pair_logits(draw, (X, N, V))
    reward = draw(arrays(np.float64, (X, V**T), elements=unit))
    prompt = softmax(draw(arrays(np.float64, (X,), elements=st.floats(-3, 3, width=64))))
    return TabularPair(roll, theta, reward, prompt)


@st.composite
def generated_pairs(draw, max_T=5):
    """Pairs from the generators: every family and mismatch model, several entropy profiles."""
    family = draw(st.sampled_from(FAMILIES))
    kind = draw(st.sampled_from(MISMATCH_KINDS))
    mismatch = MismatchModel(kind, sigma=draw(st.sampled_from([0.01, 0.1, 0.5])), rate=draw(st.sampled_from([0.05, 0.3])),
                             flip_sigma=draw(st.sampled_from([0.5, 2.0])), tau=draw(st.sampled_from([0.8, 1.2])))
    profile = EntropyProfile(fork_fraction=draw(st.sampled_from([0.0, 0.2, 1.0])), peak=draw(st.sampled_from([2.0, 6.0])))
    T = draw(st.integers(1, max_T))
    params = {"T": T, "profile": profile, "mismatch": mismatch}
    if family == "tabular":
        params.update(vocab=2, T=min(T, 4), prompts=draw(st.integers(1, 2)))
    elif family == "automaton":
        params.update(states=draw(st.integers(1, 5)), vocab=draw(st.integers(2, 3)), prompts=1,
                      time_dependent=draw(st.booleans()))
    elif family == "kgram":
        params.update(vocab=2, k=draw(st.integers(1, 2)), prompts=1)
    else:
        params.update(vocab=draw(st.integers(2, 3)))
    return random_pair(family, draw(st.integers(0, 2**31 - 1)), **params)


@st.composite
def sparse_flip_pairs(draw, max_states=4, max_vocab=3, max_T=5):
    """Sparse "routing flips": small logit noise (scale ≤ 0.02) at every context and a large one (scale 1–6)
    at a drawn subset of contexts, so that a few contexts carry almost all of the mismatch (THEORY §11)."""
    S = draw(st.integers(1, max_states))
    V = draw(st.integers(2, max_vocab))
    T = draw(st.integers(1, max_T))
    next_state = draw(arrays(np.int64, (S, V), elements=st.integers(0, S - 1)))
    base = draw(arrays(np.float64, (S, V), elements=logit))
    noise = draw(arrays(np.float64, (S, V), elements=st.floats(-1.0, 1.0, width=64)))
    flip = draw(arrays(np.bool_, S))
    small, large = draw(st.floats(0.0, 0.02)), draw(st.floats(1.0, 6.0))
    roll = softmax(base + np.where(flip[:, None], large, small) * noise)
    init = softmax(draw(arrays(np.float64, (S,), elements=logit)))
    reward = draw(arrays(np.float64, (S,), elements=unit))
    return AutomatonPair(init, next_state, roll, softmax(base), reward, T)


@st.composite
def heavy_tail_pairs(draw, max_states=3, max_vocab=4, max_T=5):
    """Heavy-tailed logit noise: Cauchy quantiles tan(π(u − ½)) of uniforms u ∈ [0.002, 0.998] (|noise| up to
    about 160 before scaling), so that a few tokens have ratios ρ far from 1 in either direction."""
    S = draw(st.integers(1, max_states))
    V = draw(st.integers(2, max_vocab))
    T = draw(st.integers(1, max_T))
    next_state = draw(arrays(np.int64, (S, V), elements=st.integers(0, S - 1)))
    base = draw(arrays(np.float64, (S, V), elements=logit))
    u = draw(arrays(np.float64, (S, V), elements=st.floats(0.002, 0.998, width=64)))
    sigma = draw(st.sampled_from([0.01, 0.05, 0.2]))
    roll = softmax(base + sigma * np.tan(np.pi * (u - 0.5)))
    init = softmax(draw(arrays(np.float64, (S,), elements=logit)))
    reward = draw(arrays(np.float64, (S,), elements=unit))
    return AutomatonPair(init, next_state, roll, softmax(base), reward, T)


any_pair = automaton_pairs() | tabular_pairs() | generated_pairs()
