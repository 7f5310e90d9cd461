"""How tight is each bound? |Error|/bound and sup_R|Error|/bound over many random pairs.

Pairs are drawn from every generator family and mismatch model at sizes where enumeration is
exact (so the worst case over all rewards is available). The ratio sup_R|Error| / bound is the
bound's true slack for that pair: a valid bound keeps it ≤ 1. The survey also records the ratios of
this suite's χ² family (THEORY §10), whose single constant is ½.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from numerics.bounds import BOUND_NAMES, CONSTANT_FAMILIES, BoundInputs, evaluate_bounds
from numerics.chi2_bounds import CHI2_BOUND_NAMES, Chi2Inputs, evaluate_chi2_bounds
from numerics.enumeration import worst_case_error
from numerics.exact import exact_quantities
from numerics.generators import FAMILIES, MISMATCH_KINDS, EntropyProfile, MismatchModel, random_pair


def random_small_pair(rng: np.random.Generator):
    """One pair with random family, mismatch model, entropy profile and size (enumerable)."""
    family = FAMILIES[rng.integers(len(FAMILIES))]
    kind = MISMATCH_KINDS[1 + rng.integers(len(MISMATCH_KINDS) - 1)]
    mismatch = MismatchModel(kind, sigma=float(10 ** rng.uniform(-2.5, 0.3)), rate=float(rng.uniform(0.02, 0.5)),
                             flip_sigma=float(10 ** rng.uniform(-0.5, 0.5)), tau=float(rng.uniform(0.7, 1.4)))
    profile = EntropyProfile(fork_fraction=float(rng.uniform()), peak=float(rng.uniform(0, 8)))
    T = int(rng.integers(2, 7))
    params = {"profile": profile, "mismatch": mismatch, "T": T}
    if family == "tabular":
        params.update(vocab=2, T=min(T, 5), prompts=int(rng.integers(1, 3)))
    elif family == "automaton":
        params.update(states=int(rng.integers(1, 6)), vocab=int(rng.integers(2, 4)), prompts=1,
                      time_dependent=bool(rng.integers(2)))
    elif family == "kgram":
        params.update(vocab=2, k=int(rng.integers(1, 3)), prompts=1)
    else:
        params.update(vocab=int(rng.integers(2, 4)))
    seed = int(rng.integers(2**31))
    return f"{family}/{kind} seed={seed} " + " ".join(f"{k}={v}" for k, v in params.items()
                                                   if k not in ("profile", "mismatch")), random_pair(family, seed, **params)


@dataclass(frozen=True)
class TightnessSurvey:
    """ratios[family][name] = arrays over pairs of |Error|/bound and sup_R|Error|/bound."""

    error_ratio: dict
    worst_ratio: dict
    labels: list
    #: the same ratios for this suite's χ² family (THEORY §10), {name: array}; one constant, ½
    chi2_error_ratio: dict = field(default_factory=dict)
    chi2_worst_ratio: dict = field(default_factory=dict)

    def maxima(self) -> dict:
        out = {}
        for family in self.error_ratio:
            out[family] = {}
            for name in BOUND_NAMES:
                e, w = self.error_ratio[family][name], self.worst_ratio[family][name]
                i = int(np.nanargmax(w))
                out[family][name] = {"max_error_ratio": float(np.nanmax(e)), "max_worst_ratio": float(w[i]),
                                     "attained_by": self.labels[i]}
        if self.chi2_worst_ratio:
            out["chi2"] = {}
            for name, w in self.chi2_worst_ratio.items():
                i = int(np.nanargmax(w))
                out["chi2"][name] = {"max_error_ratio": float(np.nanmax(self.chi2_error_ratio[name])),
                                     "max_worst_ratio": float(w[i]), "attained_by": self.labels[i]}
        return out


def tightness_survey(samples: int, seed: int = 0, progress=None) -> TightnessSurvey:
    """Draw ``samples`` random pairs and record both ratios for every bound and constant family.

    ``progress`` (optional callable taking no argument) is called once per pair.
    """
    rng = np.random.default_rng(seed)
    error = {f: {n: np.full(samples, np.nan) for n in BOUND_NAMES} for f in CONSTANT_FAMILIES}
    worst = {f: {n: np.full(samples, np.nan) for n in BOUND_NAMES} for f in CONSTANT_FAMILIES}
    chi2_error = {n: np.full(samples, np.nan) for n in CHI2_BOUND_NAMES}
    chi2_worst = {n: np.full(samples, np.nan) for n in CHI2_BOUND_NAMES}
    labels = []
    for i in range(samples):
        label, pair = random_small_pair(rng)
        labels.append(label)
        q = exact_quantities(pair)
        sup = worst_case_error(pair).value
        inputs = BoundInputs.from_exact(q)
        for family in CONSTANT_FAMILIES:
            values = evaluate_bounds(inputs, family)
            for name in BOUND_NAMES:
                if values[name] > 0:
                    error[family][name][i] = abs(q.error) / values[name]
                    worst[family][name][i] = sup / values[name]
        chi2 = evaluate_chi2_bounds(Chi2Inputs.from_exact(q))
        for name in CHI2_BOUND_NAMES:
            if chi2[name] > 0:
                chi2_error[name][i] = abs(q.error) / chi2[name]
                chi2_worst[name][i] = sup / chi2[name]
        if progress is not None:
            progress()
    return TightnessSurvey(error, worst, labels, chi2_error, chi2_worst)
