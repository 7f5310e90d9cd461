"""The paper's symbols with the assumptions sympy needs (THEORY §1–§5)."""
import sympy as sp

T = sp.Symbol("T", integer=True, positive=True)          # sequence length
t = sp.Symbol("t", integer=True, positive=True)          # position, 1..T
k = sp.Symbol("k", integer=True, nonnegative=True)       # offset, 0..T-1
delta = sp.Symbol("delta", positive=True)                # δ = D_KL^{tok,max}
eps = sp.Symbol("epsilon", positive=True)                # ε = D_TV^{tok,max}
kl_seq = sp.Symbol("D_KL_seq", positive=True)            # D_KL^seq
tv_seq = sp.Symbol("D_TV_seq", positive=True)            # D_TV^seq
dbar = sp.Symbol("Dbar_t", nonnegative=True)             # D̄_t, expected token TV at position t
C = sp.Symbol("C", positive=True)                        # the bound constant: 4 (paper) or 2 (sharp)

PAPER_CONSTANT = sp.Integer(4)
SHARP_CONSTANT = sp.Integer(2)
