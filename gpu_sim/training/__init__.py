"""The paper's training experiments in miniature (THEORY §9): a long-horizon toy task with a
verifiable reward, a small recurrent policy briefly pretrained to partial success, a rollout engine
that differs from the trainer as real stacks do (bfloat16 vs float32, optional MoE-like noise), and a
GRPO-style loop comparing token IS, PPO clipping and Trust Region Masking objectives.
``task`` (reward, teacher corpus), ``model`` (the policy), ``objectives`` (losses and masks),
``loop`` (one run, logged per step).
"""
