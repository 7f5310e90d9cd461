"""Read per-token dumps of a training step, in bounded memory, in chunks of rows.

Formats (recognised from the file suffix):
    .pt            torch.save of a dict of tensors (a verl DataProto batch as a plain dict; nested
                   "batch" / "meta_info" dicts are flattened; a list of 1-D tensors is a ragged
                   column, padded here). Loaded with torch.load(weights_only=True, mmap=True), so
                   tensors stay on disk until their rows are read; torch is imported only here.
    .safetensors   the header is parsed here and every tensor memory-mapped (BF16 included).
    .npz           each member's .npy header is parsed and its rows are streamed from the zip
                   (compressed or not); nothing is loaded whole.
    .parquet       one row per sequence with list columns (pyarrow), read by batches of rows.
Keys (first match wins; override with ``keys={"old": NAME, ...}``):
    old        old_log_probs | old_log_prob | old_per_token_logps | log_probs        [B, L] trainer
    rollout    rollout_log_probs | rollout_log_prob | sampling_per_token_logps        [B, L] rollout engine
    mask       response_mask | completion_mask | loss_mask | loss_masks               [B, L] 0/1
    lengths    response_lengths | response_length | lengths                           [B] (instead of a mask)
    scores     token_level_scores | token_level_rewards | scores | rewards            [B, L] (summed) or [B]
    advantages advantages                                                            [B, L] (row mean) or [B]
    step       global_steps | global_step | step                                     scalar or [B]
    old_full, rollout_full      old_log_probs_full, rollout_log_probs_full           [B, L, V] full log-probs
    old_topk, rollout_topk      old_topk_log_probs, rollout_topk_log_probs           [B, L, K] log-probs of
                                the rollout's top-k tokens under each policy (the same K tokens)
Padded positions may hold any value (0, NaN, garbage): they are never read as data.
Refused with a message naming the file, key, row, position and value: shape mismatches between the
three tensors, NaN / +inf / positive log-probs (beyond a rounding slack of 1e-6) at valid positions,
−inf rollout log-probs (the engine sampled the token), masks that are not 0/1, empty batches.
"""
from audit.readers.common import (DEFAULT_MEMORY, FORMATS, LOGPROB_SLACK, NORMALISATION_TOL, WORK_ARRAYS_PER_TOKEN,
                                  Column, available_memory)
from audit.readers.divergences import exact_divergences
from audit.readers.dump import ROLE_KEYS, Chunk, Dump, DumpInfo
from audit.readers.write import write_dump

__all__ = ["DEFAULT_MEMORY", "FORMATS", "LOGPROB_SLACK", "NORMALISATION_TOL", "ROLE_KEYS", "WORK_ARRAYS_PER_TOKEN",
           "Chunk", "Column", "Dump", "DumpInfo", "available_memory", "exact_divergences", "write_dump"]
