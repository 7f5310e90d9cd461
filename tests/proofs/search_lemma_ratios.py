"""Search small prefix-tree pairs for the largest ratio lhs/rhs of three inequalities tight only at 0 = 0: the ceiling's
truncated_martingale_part and truncated_jump_part (proofs.kl_ceiling; the NOT_TIGHT table of
tests/proofs/test_lemma_falsifications.py) and the path family's additive_abs (proofs.path_bound_proofs;
test_additive_abs_ratio_at_small_T). A local search (Powell) over the logits of both policies at every
prefix, clipped to ±30, from seeded random starts (each logit −30, 0 or +30 plus a standard normal); the ratio is
evaluated by enumeration, as the lemmas' tests evaluate it. A search gives a lower estimate of the supremum only.

    python3 -m tests.proofs.search_lemma_ratios additive_abs --vocab 2 --horizon 3 --starts 10 --seed 0
"""
import argparse

import numpy as np
from scipy.optimize import minimize

from numerics.enumeration import total_variation_seq, worst_case_error
from numerics.generators import softmax
from numerics.pair import TabularPair, num_prefixes
from tests.proofs.test_kl_ceiling_lemmas import truncation

LEMMAS = ("additive_abs", "truncated_martingale_part", "truncated_jump_part")


def ratio(lemma: str, pair: TabularPair) -> float:
    """lhs/rhs of the lemma's statement at the pair (0 where the right side is 0 or infinite)."""
    w = truncation(pair)
    if lemma == "additive_abs":
        lhs, rhs = worst_case_error(pair).value, total_variation_seq(pair) + 0.5 * w.E(np.abs(w.u.sum(axis=0)))
    elif lemma == "truncated_martingale_part":
        lhs, rhs = w.E(np.abs(w.m.sum(axis=0))), 2 * np.sqrt(w.A)
    else:
        lhs, rhs = w.E(np.abs(w.j.sum(axis=0))), 8 * w.B
    return float(lhs / rhs) if 1e-9 < rhs < np.inf else 0.0


def pair_of(z: np.ndarray, V: int, T: int) -> TabularPair:
    N = num_prefixes(V, T)
    z = np.clip(z, -30.0, 30.0)
    return TabularPair(softmax(z[:N * V].reshape(1, N, V)), softmax(z[N * V:].reshape(1, N, V)),
                       np.zeros((1, V ** T)), np.array([1.0]))


def search(lemma: str, V: int, T: int, starts: int, seed: int) -> tuple[float, TabularPair]:
    """The largest ratio found and the pair that gives it."""
    rng = np.random.default_rng(seed)
    size = 2 * num_prefixes(V, T) * V
    best, best_z = -1.0, None
    for _ in range(starts):
        z0 = rng.choice([-30.0, 0.0, 30.0], size) + rng.normal(0.0, 1.0, size)
        res = minimize(lambda z: -ratio(lemma, pair_of(z, V, T)), z0, method="Powell",
                       options={"maxiter": 20000, "xtol": 1e-4, "ftol": 1e-10})
        if -res.fun > best:
            best, best_z = -res.fun, res.x
    return best, pair_of(best_z, V, T)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lemma", choices=LEMMAS)
    parser.add_argument("--vocab", type=int, default=2)
    parser.add_argument("--horizon", type=int, default=2)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    best, pair = search(args.lemma, args.vocab, args.horizon, args.starts, args.seed)
    print(f"{args.lemma} V={args.vocab} T={args.horizon}: largest ratio found {best:.6f}")
    print("roll  ", np.round(pair.roll[0], 4).tolist())
    print("theta ", np.round(pair.theta[0], 4).tolist())


if __name__ == "__main__":
    main()
