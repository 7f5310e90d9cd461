"""Audit of real training logs: per-token log-probabilities of the sampled tokens under the
rollout engine and the trainer, read from dumps and judged with the frameworks' own semantics.

``readers`` (.pt, .safetensors, .npz, .parquet, streamed by rows), ``dialects`` (each framework's
semantics: ``dialects.verl``, verl's rollout correction: options, presets, decision, ``rollout_corr/*``
metrics; ``dialects.slime``, slime's importance-sampling masks and veto), ``criteria`` (the suite's own criterion syntax on masked
batches), ``suite`` (divergence estimates with standard errors, length bias, plug-in bounds),
``run`` (one pass over a dump: every accumulator, the output mask, the result record), ``report``
(``trm audit --report``: the Markdown report and its figures), ``example`` (an example dump drawn from
the simulator's neural family). numpy float64 throughout; torch is imported only to read .pt files and
to draw the example.
"""
