"""The probabilistic quantities the derivations speak about, as opaque sympy objects.

A derivation cannot compute an expectation over a random policy pair; it manipulates these
quantities through lemmas (proofs.lemmas) and checks the algebra between them. Each object's
docstring line gives its meaning (THEORY §1–§4, §10); KL is always roll ‖ θ.
"""
import sympy as sp

from proofs.symbols import T, dbar, delta, eps, k, kl_seq, t, tv_seq  # noqa: F401  (re-exported)

s = sp.Symbol("s", integer=True, positive=True)        # an inner position
v = sp.Symbol("v", integer=True, positive=True)        # a token
n = sp.Symbol("n", integer=True, nonnegative=True)     # an induction variable
V = sp.Symbol("V", integer=True, positive=True)        # the number of tokens in a support
c = sp.Symbol("c")                                     # a reachable context

# --- the objective and its surrogate (THEORY §2)
Error = sp.Symbol("Error", real=True)                  # J(π_θ) − J(π_roll) − L'
Jgap = sp.Symbol("Jgap", real=True)                    # J(π_θ) − J(π_roll)
Lsur = sp.Symbol("Lsur", real=True)                    # L' = E_roll[R Σ_t (ρ_t − 1)]
Delta = sp.Symbol("Delta", real=True)                  # Δ = E_roll[R Σ_t (ρ_t − 1)(1 − Π_{j>t} ρ_j)]
R = sp.Symbol("R", nonnegative=True)                   # the reward of one sequence, in [0, 1]
R_max = sp.Symbol("R_max", real=True)           # the largest reward
R_min = sp.Symbol("R_min", real=True)           # the smallest reward
rho = sp.Function("rho", positive=True)                # ρ_j of one sequence (a function of the position)
E_roll = sp.Function("E_roll")                         # E_roll[·] over (x, y): an opaque linear functional

# --- token level at a context c (THEORY §3)
TV_tok = sp.Function("D_TV", nonnegative=True)         # D_TV(c)
KL_tok = sp.Function("D_KL", nonnegative=True)         # D_KL(c)
p_roll = sp.IndexedBase("p", positive=True)            # π_roll(v|c) on its support
p_theta = sp.IndexedBase("q", nonnegative=True)        # π_θ(v|c)

# --- per position (THEORY §3–§4)
Dbar = sp.Function("Dbar", nonnegative=True)           # D̄_s = E_{d_s^roll}[D_TV(c_s)]
KLbar = sp.Function("KLbar", nonnegative=True)         # E_{d_s^roll}[D_KL(c_s)]
chi2bar = sp.Function("chi2bar", nonnegative=True)     # E_{d_s^roll}[χ²(c_s)]: Q = Σ_s chi2bar(s)
TV_d = sp.Function("TV_d", nonnegative=True)           # TV(d_t^θ, d_t^roll)
KL_d = sp.Function("KL_d", nonnegative=True)           # KL(d_t^roll ‖ d_t^θ)
E_d = sp.Function("E_d")                               # E_{c~d_t^roll}[·] (position, integrand)
g = sp.Function("g", real=True)                        # g_t(c) = E_{y~π_θ}[A_t(c, y)]
c_max = sp.Function("c_max")                           # a reachable context maximising g_t
c_min = sp.Function("c_min")                           # a reachable context minimising g_t
EQ_theta = sp.Function("EQ_theta", real=True)          # E_{y~π_θ(·|c)}[Q_t(c, y)]
EQ_roll = sp.Function("EQ_roll", real=True)           # E_{y~π_roll(·|c)}[Q_t(c, y)] = V_t(c)
Q_max = sp.Function("Q_max", real=True)         # max_y Q_t(c, y)
Q_min = sp.Function("Q_min", real=True)         # min_y Q_t(c, y)
Eg_theta = sp.Function("Eg_theta", real=True)          # E_{d_t^θ}[g_t]
Eg_roll = sp.Function("Eg_roll", real=True)            # E_{d_t^roll}[g_t]

# --- the Δ route (THEORY §4, Adaptive proof)
Eabs_u = sp.Function("Eabs_u", nonnegative=True)       # E_roll|ρ_t − 1|
Euh = sp.Function("Euh", real=True)                    # E_roll[(ρ_t − 1) h_t(c_{t+1})], h_t = V^roll_{t+1} − V^θ_{t+1}
f_max = sp.Function("f_max")                           # a context c_{t+1} maximising |h_t|
V_roll = sp.Function("V_roll", real=True)       # V^roll_{t+1}(c) = E_roll[R | c_{t+1} = c]
V_theta = sp.Function("V_theta", real=True)     # V^θ_{t+1}(c)
TV_fut = sp.Function("TV_fut", nonnegative=True)       # TV of the laws of y_{t+1..T} given c_{t+1} = c
KL_fut = sp.Function("KL_fut", nonnegative=True)       # KL of those laws (roll ‖ θ)
Dbar_fut = sp.Function("Dbar_fut", nonnegative=True)   # (t, c, s): E[D_TV(c_s)] under the future roll law from c
KLbar_fut = sp.Function("KLbar_fut", nonnegative=True)  # (t, c, s): E[D_KL(c_s)] likewise

# --- sequence level
TV_seq = tv_seq                                        # D_TV^seq
KL_seq = kl_seq                                        # D_KL^seq

# --- the second moment (THEORY §10)
u = sp.IndexedBase("u", real=True)                     # u_t = ρ_t − 1 along one sequence
chi2_tok = sp.Function("chi2", nonnegative=True)       # χ²(c) = Σ_v π_θ²/π_roll − 1
EW2 = sp.Symbol("E_W2", nonnegative=True)              # E_roll[W²]
EabsW = sp.Symbol("E_absW", nonnegative=True)          # E_roll|W|
EW = sp.Symbol("E_W", real=True)                       # E_roll[W]
sup_error = sp.Symbol("sup_R_Error", nonnegative=True)  # sup_{R∈[0,1]} |Error|
m2 = sp.Function("m2", positive=True)                  # E_roll[M_t²]
var_M = sp.Function("var_M", nonnegative=True)         # E_roll[(M_t − 1)²]
increment = sp.Function("incr", nonnegative=True)      # E_roll[(M_{t−1} − 1)² χ²(c_t)]
