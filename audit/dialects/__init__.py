"""The frameworks' semantics, one module per framework (a dialect): verl's rollout correction
(``verl``) and slime's importance-sampling masks (``slime``)."""
