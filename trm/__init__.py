"""The `trm` command line: a thin layer over proofs/ and numerics/."""
