"""Per-sequence running statistics over blocks of positions, and criteria decisions at checkpoints.

A family simulator feeds blocks of shape [τ, B] (positions × sequences) of the sampled-token log
ratio ℓ_t = log π_θ(y_t|c_t) − log π_roll(y_t|c_t) (float64) and the exact per-context D_KL and
D_TV; nothing of shape [B, T, V] is ever held. Blocks end at checkpoints, where every criterion is
decided for every sequence of the chunk and counted against the exact reference TRM-Max.
An optional response mask [τ, B] marks the valid positions (variable-length sequences): padded
positions never count in any statistic, mean criteria divide by each sequence's own number of valid
tokens, LN-TRM normalises by the weights of its valid positions, and token keep rates are shares
of valid tokens. Without a mask every position is valid and nothing changes.
All state lives on the simulation device in float64; nothing syncs with the host until results
are read.

Worst case over rewards (THEORY §10): per sequence, W = Π_t ρ_t − 1 − Σ_t (ρ_t − 1) is accumulated
through its martingale transform, W += (M_{t−1} − 1)·u_t with u_t = expm1(ℓ_t) and M_{t−1} − 1 =
expm1 of the running log-sum of ℓ (unclamped), so no term of order 1 cancels; sup_R |Error| = E[W⁻]
(the one definition, :func:`numerics.martingale.transform_increment`).
Families that pass the exact per-context χ²(θ ‖ roll) (``chi2=`` in :meth:`RunningStats.update`)
also get its per-position means, its sampled maximum and the criterion trm_chi2.

A compiled step (the finite-state family's numba loop or Triton kernel) may instead add to the
per-sequence statistics itself, in place in ``acc`` [B, K] (:data:`SEQUENCE_STATS`), and pass only the
per-position batch sums (:meth:`RunningStats.update_reduced`), when no criterion needs token-level
values (:attr:`RunningStats.needs_blocks`).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from gpu_sim.criteria import LOG_RATIO_CLAMP, Criterion, check_not_mixed
from numerics.bounds import length_neutral_weights
from numerics.errors import TRMInputError
from numerics.martingale import transform_increment


#: The per-sequence statistics of a chunk, one column each of ``RunningStats.acc`` [B, K] (float64), so that
#: a compiled step can add to them in place (:mod:`gpu_sim.fused`, :mod:`gpu_sim.triton_step`); one
#: sequence's statistics share two cache lines (as rows of a [K, B] array, 8 KB apart at B = 1,024, they
#: fell into one L1 set and slowed the compiled step). ``RunningStats.s[name]`` is the column's view. All
#: are ≥ 0 except the sums of ℓ, of ρ − 1 and W, so every maximum starts at 0. ``sum_lr_raw`` is the
#: unclamped Σℓ = log M_t.
SEQUENCE_STATS = ("n", "sum_kl", "max_kl", "max_tv", "max_chi2", "sum_lr", "sum_lr_raw", "sum_k2", "sum_k3",
                  "max_k2", "max_k3", "sum_x", "sum_absx", "W")
STAT = {name: i for i, name in enumerate(SEQUENCE_STATS)}


def sampled_estimators(log_ratio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ℓ clamped to ±LOG_RATIO_CLAMP, k2 = ½ℓ², k3 = expm1(ℓ) − ℓ) for sampled log-ratios ℓ = log π_θ − log π_roll
    (clamped ℓ in both; Schulman's estimators of D_KL(roll ‖ θ), FIELD.md §2). The one definition used by
    :meth:`RunningStats.update` and by the finite-state step tables (:class:`gpu_sim.finite_state.StepTables`)."""
    lr = log_ratio.clamp(-LOG_RATIO_CLAMP, LOG_RATIO_CLAMP)
    k2 = 0.5 * lr * lr
    k3 = torch.expm1(lr) - lr
    return lr, k2, k3


_NO_CHI2 = ("criterion trm_chi2 needs the exact per-context χ²(θ ‖ roll), and none was passed "
            "(chi2= in RunningStats.update)")


class RunningStats:
    def __init__(self, T: int, checkpoints: list[int], criteria: list[Criterion], reference_delta: float,
                 device: torch.device):
        self.T, self.device = T, device
        self.checkpoints = sorted(set(int(c) for c in checkpoints if 1 <= c <= T) | {T})
        self.criteria = criteria
        for criterion in criteria:
            check_not_mixed(criterion)
        self.reference_delta = reference_delta
        f64 = dict(dtype=torch.float64, device=device)
        self.pos_kl = torch.zeros(T, **f64)
        self.pos_tv = torch.zeros(T, **f64)
        self._seen = torch.zeros(3, **f64)                 # max D_KL, D_TV, χ² over finished chunks
        n_cp, n_cr = len(self.checkpoints), len(criteria)
        self.accepted = torch.zeros(n_cr, n_cp, **f64)      # sequences accepted (token criteria: tokens kept)
        self.false_mask = torch.zeros(n_cr, n_cp, **f64)
        self.missed = torch.zeros(n_cr, n_cp, **f64)
        self.reference_accepted = torch.zeros(n_cp, **f64)
        self.valid_tokens = torch.zeros(n_cp, **f64)       # valid tokens seen up to each checkpoint
        self.sequences = 0
        self.pos_chi2 = torch.zeros(T, **f64)
        self.acc = None
        self.has_chi2 = None                     # whether the family passed χ² (known after the first block)
        self._needs_chi2 = any(c.name == "trm_chi2" for cr in criteria for c in cr.clauses)
        self._ln = {}
        for clause in {c for cr in criteria for c in cr.clauses if c.name == "ln_trm"}:
            eps = math.sqrt(clause.ln_delta / 2)
            for T_c in self.checkpoints:
                w = length_neutral_weights(T_c, clause.ln_delta, eps)
                self._ln[(clause.ln_delta, T_c)] = (torch.as_tensor(w, **f64), float(w.sum()))

    def next_boundary(self, t: int) -> int:
        """The first checkpoint strictly after position t (blocks must end there)."""
        return next(c for c in self.checkpoints if c > t)

    @property
    def needs_blocks(self) -> bool:
        """Whether the criteria need the token-level blocks (token masks and LN-TRM's position weights); when
        they do not, a compiled step may reduce each block itself and call :meth:`update_reduced`."""
        return any(c.token_level for c in self.criteria) or bool(self._ln)

    def _max_seen(self, k: int, name: str) -> torch.Tensor:
        if self.acc is None:
            return self._seen[k]
        return torch.maximum(self._seen[k], self.s[name].amax())

    @property
    def max_kl_seen(self) -> torch.Tensor:
        """The largest exact per-context D_KL among the sampled contexts so far (0-d float64)."""
        return self._max_seen(0, "max_kl")

    @property
    def max_tv_seen(self) -> torch.Tensor:
        return self._max_seen(1, "max_tv")

    @property
    def max_chi2_seen(self) -> torch.Tensor:
        return self._max_seen(2, "max_chi2")

    def start_chunk(self, batch: int) -> None:
        f64 = dict(dtype=torch.float64, device=self.device)
        zeros = lambda: torch.zeros(batch, **f64)
        self.batch = batch
        self.t = 0
        self.acc = torch.zeros(batch, len(SEQUENCE_STATS), **f64)
        self.s = {name: self.acc[:, i] for i, name in enumerate(SEQUENCE_STATS)}
        self.ln_sums = {key: zeros() for key in self._ln}
        self.ln_z = {key: zeros() for key in self._ln}       # Σ of LN-TRM weights over valid positions
        self.masked = False
        self.token_kept = [zeros() for _ in self.criteria]

    def update(self, log_ratio: torch.Tensor, kl: torch.Tensor, tv: torch.Tensor,
               mask: torch.Tensor | None = None, chi2: torch.Tensor | None = None, w_fed: bool = False) -> None:
        """One block [τ, B] starting at the current position; must not cross a checkpoint.

        ``mask`` [τ, B] (bool or 0/1): valid positions; None means every position is valid. Padded
        entries of log_ratio, kl, tv and chi2 may hold anything (NaN included): they are set to 0, which
        is neutral for every sum, for every maximum (all tracked statistics are ≥ 0) and for W (a
        log-ratio of 0 adds u = 0). ``chi2`` ([τ, B], optional): the exact per-context χ²(θ ‖ roll) of
        the same contexts. ``w_fed``: the caller has already advanced ``s["W"]`` through this block,
        token by token (the fused finite-state step does), so it is not redone."""
        tau = log_ratio.shape[0]
        t0, t1 = self.t, self.t + tau
        if t1 > self.next_boundary(t0):
            raise ValueError("a block crossed a checkpoint")
        s = self.s
        valid = None
        if mask is None:
            s["n"] += tau
        else:
            if tuple(mask.shape) != tuple(log_ratio.shape):
                raise ValueError(f"mask has shape {tuple(mask.shape)}, expected {tuple(log_ratio.shape)} like log_ratio")
            valid = mask.to(device=log_ratio.device, dtype=torch.bool)
            self.masked = True
            s["n"] += valid.sum(0, dtype=torch.float64)
            log_ratio, kl, tv = (torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
                                 for x in (log_ratio, kl, tv))
            if chi2 is not None:
                chi2 = torch.where(valid, chi2, torch.zeros((), dtype=chi2.dtype, device=chi2.device))
        self._update_second_moment(log_ratio, chi2, t0, t1, w_fed)
        lr, k2, k3 = sampled_estimators(log_ratio)
        x = torch.expm1(log_ratio)                      # ρ_t − 1, exact (unclamped)
        s["sum_kl"] += kl.sum(0)
        torch.maximum(s["max_kl"], kl.amax(0), out=s["max_kl"])
        torch.maximum(s["max_tv"], tv.amax(0), out=s["max_tv"])
        s["sum_lr"] += lr.sum(0)
        s["sum_lr_raw"] += log_ratio.sum(0)
        s["sum_k2"] += k2.sum(0)
        s["sum_k3"] += k3.sum(0)
        torch.maximum(s["max_k2"], k2.amax(0), out=s["max_k2"])
        torch.maximum(s["max_k3"], k3.amax(0), out=s["max_k3"])
        s["sum_x"] += x.sum(0)
        s["sum_absx"] += x.abs().sum(0)
        for (delta, T_c), (w, _) in self._ln.items():
            if T_c > t0:
                self.ln_sums[(delta, T_c)] += (x.abs() * w[t0:t1, None]).sum(0)
                w_block = w[t0:t1, None].expand(tau, log_ratio.shape[1])
                self.ln_z[(delta, T_c)] += (w_block if valid is None else torch.where(valid, w_block, 0.0)).sum(0)
        for i, criterion in enumerate(self.criteria):
            if criterion.token_level:
                keep = torch.ones_like(lr, dtype=torch.bool)
                for clause in criterion.clauses:
                    keep &= _token_keep(clause, lr, k2, k3)
                if valid is not None:
                    keep &= valid
                self.token_kept[i] += keep.sum(0, dtype=torch.float64)
        self.pos_kl[t0:t1] += kl.sum(1)
        self.pos_tv[t0:t1] += tv.sum(1)
        self._advance(t1)

    def update_reduced(self, position_sums: torch.Tensor) -> None:
        """One block of τ positions that a compiled step has already reduced: it added every per-sequence
        statistic of ``acc`` except ``n`` (W included, through the martingale transform) and passes
        ``position_sums`` [τ, 3], the batch sums of the exact D_KL, D_TV and χ² at each position. Only when
        :attr:`needs_blocks` is False and nothing is masked; must not cross a checkpoint."""
        if self.needs_blocks:
            raise ValueError("these criteria need token-level blocks (RunningStats.update)")
        tau = position_sums.shape[0]
        t0, t1 = self.t, self.t + tau
        if t1 > self.next_boundary(t0):
            raise ValueError("a block crossed a checkpoint")
        self.s["n"] += tau
        self.has_chi2 = True
        self.pos_kl[t0:t1] += position_sums[:, 0]
        self.pos_tv[t0:t1] += position_sums[:, 1]
        self.pos_chi2[t0:t1] += position_sums[:, 2]
        self._advance(t1)

    def _advance(self, t1: int) -> None:
        self.t = t1
        if t1 in self.checkpoints:
            self._decide(self.checkpoints.index(t1), t1)

    def _update_second_moment(self, log_ratio: torch.Tensor, chi2: torch.Tensor | None, t0: int, t1: int,
                              w_fed: bool = False) -> None:
        """W += Σ_t (M_{t−1} − 1)·u_t over the block (the martingale transform of THEORY §10; log M_{t0} is
        ``sum_lr_raw``, which the caller advances after this) and the χ² statistics when ``chi2`` is given;
        with ``w_fed`` the caller has already advanced W (token by token, from M − 1 kept alongside)."""
        s = self.s
        if not w_fed:
            s["W"] += transform_increment(log_ratio, s["sum_lr_raw"])
        if self.has_chi2 is None:
            self.has_chi2 = chi2 is not None
        if chi2 is None:
            if self._needs_chi2:
                raise TRMInputError(_NO_CHI2)
            return
        torch.maximum(s["max_chi2"], chi2.amax(0), out=s["max_chi2"])
        self.pos_chi2[t0:t1] += chi2.sum(1)

    def accepts(self, criterion: Criterion) -> torch.Tensor:
        """[B] bool: the sequence criterion's decision on the prefixes seen so far (all clauses AND-ed)."""
        if criterion.token_level:
            raise ValueError(f"{criterion.text!r} is a token mask, not a sequence decision")
        accept = torch.ones(self.batch, dtype=torch.bool, device=self.device)
        for clause in criterion.clauses:
            accept &= self._sequence_accept(clause, self.t)
        return accept

    def _decide(self, j: int, T_c: int) -> None:
        reference = self.s["max_kl"] <= self.reference_delta
        self.reference_accepted[j] += reference.sum(dtype=torch.float64)
        self.valid_tokens[j] += self.s["n"].sum()
        for i, criterion in enumerate(self.criteria):
            if criterion.token_level:
                self.accepted[i, j] += self.token_kept[i].sum()
                continue
            accept = self.accepts(criterion)
            self.accepted[i, j] += accept.sum(dtype=torch.float64)
            self.false_mask[i, j] += (~accept & reference).sum(dtype=torch.float64)
            self.missed[i, j] += (accept & ~reference).sum(dtype=torch.float64)

    def _sequence_accept(self, clause, T_c: int) -> torch.Tensor:
        s, name = self.s, clause.name
        if self.masked:
            # each sequence's own count of valid tokens (an empty prefix has sums 0 and is kept)
            T_c = s["n"].clamp(min=1.0)
        if name == "trm_max":
            return s["max_kl"] <= clause.threshold
        if name == "trm_chi2":
            if not self.has_chi2:
                raise TRMInputError(_NO_CHI2)
            return s["max_chi2"] <= clause.threshold
        if name == "trm_avg":
            return s["sum_kl"] / T_c <= clause.threshold
        if name == "ser":
            return s["sum_absx"] / T_c <= clause.threshold
        if name == "ln_trm":
            key = (clause.ln_delta, self.t)
            W = self.ln_sums[key]
            if self.masked:
                Z = self.ln_z[key]
                return (W <= clause.threshold * Z) | (Z <= 0)
            _, Z = self._ln[key]
            return W <= clause.threshold * Z if Z > 0 else torch.ones_like(W, dtype=torch.bool)
        if name in ("seq_sum_k1", "seq_mean_k1"):
            value = s["sum_lr"] / (T_c if name == "seq_mean_k1" else 1)
            return (value >= math.log(clause.lower)) & (value <= math.log(clause.upper))
        agg, k = name.split("_")[1], name.split("_")[2]
        if agg == "max":
            return s[f"max_{k}"] <= clause.threshold
        total = s[f"sum_{k}"]
        return (total / T_c if agg == "mean" else total) <= clause.threshold

    def end_chunk(self) -> None:
        self.sequences += self.batch
        self._seen = torch.stack([self.max_kl_seen, self.max_tv_seen, self.max_chi2_seen])

    def acceptance(self) -> dict:
        """{criterion text: {"T": [...], "acceptance": [...], "false_mask": [...], "missed_violation": [...]}}.

        Rates are fractions of all sequences; for token criteria, 'token_keep_rate' is the fraction
        of tokens kept (false masks and missed violations are not defined for token masks)."""
        n = self.sequences
        out = {}
        acc, fm, mv = (a.cpu().numpy() for a in (self.accepted, self.false_mask, self.missed))
        for i, criterion in enumerate(self.criteria):
            if criterion.token_level:
                tokens = np.asarray(self.valid_tokens.cpu(), dtype=np.float64)   # n · T_c when nothing is masked
                out[criterion.text] = {"T": list(self.checkpoints), "token_keep_rate": list(acc[i] / tokens)}
            else:
                out[criterion.text] = {"T": list(self.checkpoints), "acceptance": list(acc[i] / n),
                                       "false_mask": list(fm[i] / n), "missed_violation": list(mv[i] / n)}
        out["reference"] = {"T": list(self.checkpoints), "criterion": f"trm_max:{self.reference_delta:g} (exact KL)",
                            "acceptance": list(self.reference_accepted.cpu().numpy() / n)}
        return out


def _token_keep(clause, lr, k2, k3) -> torch.Tensor:
    if clause.name == "token_k1":
        return (lr >= math.log(clause.lower)) & (lr <= math.log(clause.upper))
    return (k2 if clause.name == "token_k2" else k3) <= clause.threshold
