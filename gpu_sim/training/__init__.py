"""The paper's training experiments in miniature (THEORY §9): a long-horizon task with a verifiable
reward, a small mixture-of-experts policy briefly pretrained to partial success, rollout engines whose
divergence from the float32 trainer is a function of the weights (router or whole forward in reduced
precision, stale weights), and a GRPO loop comparing token IS, PPO clipping and Trust Region Masking
objectives over many runs at once.
``task`` (reward, teacher corpus), ``precision`` (emulated bfloat16 and fp8 arithmetic), ``model``
(the batched policy), ``engines`` (the sources of mismatch), ``objectives`` (losses and masks),
``certificate`` (plug-in B̂* and B_χ²-max), ``loop`` (the runs, logged per step).
"""
