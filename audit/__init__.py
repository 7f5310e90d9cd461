"""Audit of real training logs: per-token log-probabilities of the sampled tokens under the
rollout engine and the trainer, read from dumps and judged with the frameworks' own semantics.

``readers`` (.pt, .safetensors, .npz, .parquet, streamed by rows; a framework's own .pt layout through its
dialect; objects torch's weights-only load refuses left unpickled), ``dialects`` (one module per
framework, found by a registry: ``verl``'s rollout correction and ``rollout_corr/*`` metrics, ``trl``'s
vLLM importance-sampling correction and ``sampling/*`` metrics, ``slime``'s masks and train dump,
``openrlhf``'s correction and ``vllm_kl``), ``token_stats`` (the per-token log-ratio statistics every rule
reads), ``rules`` (a masking rule's counts), ``criteria`` (the suite's own criterion syntax on masked
batches), ``suite`` (divergence estimates with standard errors, length bias, plug-in bounds),
``run`` (one pass over a dump: every accumulator, the output mask, the result record), ``report``
(``trm audit --report``: the Markdown report and its figures), ``example`` (an example dump drawn from
the simulator's neural family). numpy float64 throughout; torch is imported only to read .pt files and
to draw the example.
"""
