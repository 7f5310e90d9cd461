"""Measured coverage of the confidence intervals of :mod:`numerics.intervals` on pairs whose truth is known.

A case is a policy pair with its exact sup_R|Error| (enumeration of every sequence, or the binomial closed
form of the i.i.d. two-token pair) or a reference from a long independent simulation (mean ± standard
error), and its exact L' and J(π_θ) − J(π_roll) (the dynamic programme of numerics.exact). Replicate dumps
of ``rows`` sequences each are sampled with the finite-state simulator (gpu_sim.finite_state, the rows'
W and Σ_t u_t through gpu_sim.running, i.e. numerics.martingale), and each replicate's intervals are
compared with the truth:
    worst-case interval   misses when lower > truth + z_ref·se_ref or upper < truth − z_ref·se_ref
                          (se_ref = 0 for an exact truth; z_ref = REFERENCE_Z gives a reference the benefit
                          of its own sampling error)
    L' lower end          misses when it exceeds the exact L'
    certificate           a false claim when improvement_lower > J(π_θ) − J(π_roll)

Run ``python3 -m gpu_sim.coverage`` for the table of docs/certification.md (it prints; the functions here
do not).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from gpu_sim.finite_state import FiniteStateFamily
from gpu_sim.running import RunningStats
from numerics.exact import exact_quantities
from numerics.generators import MismatchModel, random_pair
from numerics.intervals import DEFAULT_LEVEL, improvement_certificate, worst_case_error_interval
from numerics.pair import AutomatonPair

#: A reference truth is widened by this many of its own standard errors before a replicate counts as a miss.
REFERENCE_Z = 3.0


@dataclass(frozen=True)
class Case:
    label: str
    pair: AutomatonPair
    worst: float              # sup_R|Error| (exact, or the reference mean)
    worst_se: float           # 0 for an exact truth
    truth: str                # "enumeration" | "binomial" | "reference (N rows)"
    surrogate: float          # exact L'
    gap: float                # exact J(π_θ) − J(π_roll)


MISMATCH = {"dense": MismatchModel("dense", sigma=0.1), "heavy": MismatchModel("heavy", sigma=0.1, df=3.0),
            "flips": MismatchModel("flips", sigma=0.02, rate=0.05, flip_sigma=1.0)}


def automaton_case(kind: str, T: int, seed: int = 0, states: int = 16, vocab: int = 8, reference_rows: int = 200_000,
                   device: torch.device = torch.device("cpu"), mismatch: MismatchModel | None = None) -> Case:
    """A random automaton pair (numerics.generators.random_pair) with mismatch ``kind``. The truth is exact by
    enumeration when every sequence can be listed (numerics.enumeration), else a reference simulation of
    ``reference_rows`` rows (seed 10⁶ + seed, independent of the replicates)."""
    from numerics.enumeration import DEFAULT_BUDGET, enumeration_size, worst_case_error

    pair = random_pair("automaton", seed, states=states, vocab=vocab, T=T, prompts=2,
                       mismatch=mismatch or MISMATCH[kind])
    q = exact_quantities(pair, tv_seq_budget=0, second_moments=False)
    label = f"automaton {kind}, S={states}, V={vocab}, T={T}"
    if enumeration_size(pair) <= DEFAULT_BUDGET:
        return Case(label, pair, worst_case_error(pair).value, 0.0, "enumeration", q.surrogate, q.J_theta - q.J_roll)
    w = np.concatenate([w for _, _, w in _batches(pair, reference_rows, 10**6 + seed, device)])
    wm = np.maximum(-w, 0.0)
    return Case(label, pair, float(wm.mean()), float(wm.std(ddof=1) / math.sqrt(wm.size)),
                f"reference ({reference_rows:,} rows)", q.surrogate, q.J_theta - q.J_roll)


def iid_case(a: float, T: int, reward: tuple[float, float] = (1.0, 0.0)) -> Case:
    """The i.i.d. two-token pair π_roll = (½, ½), π_θ = (½ + a, ½ − a) (numerics.iid), with the reward of the
    last token (``reward``), so that L' ≠ 0; sup_R|Error| by the exact binomial sum."""
    from numerics.iid import iid_worst_case

    # two states remember the last token; the policies are the same in both (i.i.d. tokens)
    roll = np.array([[0.5, 0.5], [0.5, 0.5]])
    theta = np.array([[0.5 + a, 0.5 - a], [0.5 + a, 0.5 - a]])
    pair = AutomatonPair(np.array([1.0, 0.0]), np.array([[0, 1], [0, 1]]), roll, theta, np.array(reward), T)
    q = exact_quantities(pair, tv_seq_budget=0, second_moments=False)
    return Case(f"i.i.d. two-token, a={a:g}, T={T}", pair, iid_worst_case(0.5, 0.5 + a, T).worst_case_error, 0.0,
                "binomial", q.surrogate, q.J_theta - q.J_roll)


def _batches(pair: AutomatonPair, total: int, seed: int, device: torch.device, chunk: int = 8192):
    """(R, Σ_t u_t, W) per row, [rows] float64 numpy, in chunks of at most ``chunk`` rows."""
    family = FiniteStateFamily(pair, device)
    generator = torch.Generator(device=device).manual_seed(seed)
    done = 0
    while done < total:
        batch = min(chunk, total - done)
        running = RunningStats(pair.T, [pair.T], [], 0.0, device)
        running.start_chunk(batch)
        reward, _ = family.run_chunk(batch, pair.T, running, generator)
        yield (reward.double().cpu().numpy(), running.s["sum_x"].cpu().numpy().copy(),
               running.s["W"].cpu().numpy().copy())
        done += batch


@dataclass(frozen=True)
class Coverage:
    case: Case
    rows: int
    replicates: int
    level: float
    interval_misses: int       # the truth outside [lower, upper]
    lower_misses: int          # lower > truth (one-sided, nominal ≤ (1 − level)/2)
    upper_misses: int          # upper < truth (one-sided, nominal ≤ (1 − level)/2)
    surrogate_misses: int      # L' lower end > exact L' (nominal ≤ (1 − level)/2)
    false_certificates: int    # improvement_lower > exact J(π_θ) − J(π_roll) (nominal ≤ 1 − level)
    certified: int             # replicates whose certificate holds
    upper_over_truth: float    # median upper / truth
    lower_over_truth: float    # median lower / truth

    def to_json(self) -> dict:
        return {"case": self.case.label, "truth": self.case.truth, "sup_error": self.case.worst,
                "sup_error_se": self.case.worst_se, "rows": self.rows, "replicates": self.replicates,
                "level": self.level, "coverage": 1 - self.interval_misses / self.replicates,
                "lower_misses": self.lower_misses, "upper_misses": self.upper_misses,
                "surrogate_misses": self.surrogate_misses, "false_certificates": self.false_certificates,
                "certified": self.certified, "upper_over_truth": self.upper_over_truth,
                "lower_over_truth": self.lower_over_truth}


def measure_coverage(case: Case, rows: int, replicates: int, level: float = DEFAULT_LEVEL, seed: int = 0,
                     device: torch.device = torch.device("cpu")) -> Coverage:
    """Sample ``replicates`` independent dumps of ``rows`` rows from the case's pair and count misses."""
    slack = REFERENCE_Z * case.worst_se
    misses = dict(interval=0, lower=0, upper=0, surrogate=0, certificate=0, certified=0)
    uppers, lowers = [], []
    per_chunk = max(1, 8192 // rows)
    done = 0
    for R, S, W in _batches(case.pair, rows * replicates, seed, device, chunk=per_chunk * rows):
        for k in range(R.size // rows):
            r, s, w = (v[k * rows:(k + 1) * rows] for v in (R, S, W))
            interval = worst_case_error_interval(w, level)
            cert = improvement_certificate(r, s, w, level, worst=interval)
            low, up = interval.lower > case.worst + slack, interval.upper < case.worst - slack
            misses["lower"] += low
            misses["upper"] += up
            misses["interval"] += low or up
            misses["surrogate"] += cert["surrogate_lower"] > case.surrogate
            misses["certificate"] += cert["improvement_lower"] > case.gap
            misses["certified"] += cert["holds"]
            uppers.append(interval.upper)
            lowers.append(interval.lower)
            done += 1
    truth = case.worst if case.worst > 0 else math.nan
    return Coverage(case, rows, done, level, misses["interval"], misses["lower"], misses["upper"], misses["surrogate"],
                    misses["certificate"], misses["certified"], float(np.median(uppers) / truth),
                    float(np.median(lowers) / truth))


def sample_dump(pair: AutomatonPair, rows: int, seed: int = 0, pad: int = 0) -> dict:
    """A training-step dump with verl's keys (old_log_probs = log π_θ, rollout_log_probs = log π_roll,
    response_mask, token_level_scores with the reward at the last valid position, global_steps) of ``rows``
    sequences y ~ π_roll of the automaton pair, drawn in numpy with ``np.random.default_rng(seed)``; ``pad``
    masked positions of junk follow every row (the audit must ignore them)."""
    rng = np.random.default_rng(seed)
    T = pair.T
    state = rng.choice(pair.init.size, size=rows, p=pair.init)
    old = np.zeros((rows, T + pad))
    roll = np.zeros((rows, T + pad))
    for t in range(T):
        p_roll, p_theta = pair.policies_at(t)
        cdf = np.cumsum(p_roll[state], axis=1)
        y = np.minimum((rng.random((rows, 1)) > cdf).sum(axis=1), pair.V - 1)
        roll[:, t] = np.log(p_roll[state, y])
        with np.errstate(divide="ignore"):
            old[:, t] = np.log(p_theta[state, y])
        state = pair.next_state[state, y]
    old[:, T:] = rng.normal(-3.0, 5.0, (rows, pad))
    roll[:, T:] = -rng.exponential(1.0, (rows, pad))
    mask = np.zeros((rows, T + pad), dtype=np.int64)
    mask[:, :T] = 1
    scores = np.zeros((rows, T + pad))
    scores[:, T - 1] = pair.reward[state]
    return {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": mask, "token_level_scores": scores,
            "global_steps": np.array(1)}


def default_cases(reference_rows: int = 200_000) -> list[Case]:
    """The table of docs/certification.md: enumerated small pairs (dense, heavy, flips; V = 2, T = 16), the
    i.i.d. pair at T = 16, 256, 1,024, and automata S = 16, V = 8 at T = 64 and 1,024 with a reference."""
    strong = {"dense": MismatchModel("dense", sigma=0.5), "heavy": MismatchModel("heavy", sigma=0.3, df=3.0),
              "flips": MismatchModel("flips", sigma=0.05, rate=0.1, flip_sigma=2.0)}
    cases = [automaton_case(kind, 16, states=4, vocab=2, mismatch=strong[kind]) for kind in ("dense", "heavy", "flips")]
    cases += [iid_case(0.02, T) for T in (16, 256, 1024)]
    cases += [automaton_case(kind, T, reference_rows=reference_rows) for T in (64, 1024)
              for kind in ("dense", "heavy", "flips")]
    return cases


def _main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="coverage of the worst-case interval and the certificate")
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--replicates", type=int, default=400)
    parser.add_argument("--level", type=float, default=DEFAULT_LEVEL)
    parser.add_argument("--reference-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print("| case | truth | sup_R\\|Error\\| | rows | coverage | lower > truth | upper < truth | L' lower > L' | "
          "false certificates | certified | median upper/truth |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in default_cases(args.reference_rows):
        for rows in args.rows:
            c = measure_coverage(case, rows, args.replicates, args.level)
            n = c.replicates
            print(f"| {case.label} | {case.truth} | {case.worst:.4g} | {rows} | {1 - c.interval_misses / n:.3f} | "
                  f"{c.lower_misses}/{n} | {c.upper_misses}/{n} | {c.surrogate_misses}/{n} | "
                  f"{c.false_certificates}/{n} | {c.certified}/{n} | {c.upper_over_truth:.3g} |", flush=True)


if __name__ == "__main__":
    _main()
