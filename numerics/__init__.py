"""Exact float64 ground truth for autoregressive policy pairs.

Layers: ``pair`` (the two representations and their validation), ``io`` (the .npz interchange
format), ``transition`` (the state-transition operators both engines use), ``exact`` (dynamic
programming over (position, state)), ``enumeration`` (the independent oracle over all sequences),
``generators`` (seeded random pairs and mismatch models), ``bounds`` (every bound of the paper,
evaluated from the formulas in :mod:`proofs.bounds`), ``tables`` (every number the paper prints).
"""
