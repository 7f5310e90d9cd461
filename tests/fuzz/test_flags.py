"""Hypothesis over the flags of every subcommand: adversarial numbers, sizes, paths and criteria.

Each drawn command line must keep the contract of :mod:`tests.fuzz.harness`: one error line with
exit 2, or exit 0 with finite, strictly parseable output, in bounded memory and time."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.fuzz.conftest import EXAMPLES, LONG_EXAMPLES
from tests.fuzz.harness import check_contract

#: Values that have broken number parsing somewhere: NaN, infinities, overflow, huge integers,
#: expressions, empty strings, control characters, other bases.
ADVERSARIAL = ["0", "-1", "-5", "nan", "NaN", "inf", "-inf", "1e309", "1e-300", "-0", "2**31", str(2**31),
               str(2**63), str(2**64), str(-2**63), "", " ", "abc", "0x10", "1_000", "3.5", "\n", "1\n2",
               "\x1b[31m", "9" * 5000, "1e-320"]


def _mixed(valid):
    """Mostly valid values (three in four draws), sometimes an adversarial one."""
    return st.one_of(valid, valid, valid, st.sampled_from(ADVERSARIAL))


def numbers(lo: float, hi: float):
    return _mixed(st.floats(lo, hi, allow_nan=False).map(lambda x: f"{x:.6g}"))


def ints(lo: int, hi: int):
    return _mixed(st.integers(lo, hi).map(str))


def flags(required: dict, optional: dict):
    """argv fragments: every required flag (sometimes dropped) and a random subset of the optional ones
    (flag → value strategy, or None for a switch)."""
    def build(drop_required, chosen):
        argv = []
        for i, (flag, value) in enumerate(chosen):
            if i == drop_required:
                continue
            argv.append(flag)
            if value is not None:
                argv.extend(value if isinstance(value, list) else [value])
        return argv

    req = st.tuples(*[st.tuples(st.just(f), v) for f, v in required.items()]) if required else st.just(())
    items = [st.tuples(st.just(flag), v if v is not None else st.none()) for flag, v in optional.items()]
    opt = st.lists(st.one_of(items), max_size=4, unique_by=lambda x: x[0]) if items else st.just([])
    drop = st.one_of(st.just(-1), st.just(-1), st.just(-1), st.integers(0, max(0, len(required) - 1)))
    return st.tuples(drop, req, opt).map(lambda x: build(x[0], list(x[1]) + list(x[2])))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzzfiles")
    from numerics.generators import random_automaton
    from numerics.io import save_pair

    save_pair(d / "pair.npz", random_automaton(np.random.default_rng(0), states=3, vocab=3, T=6))
    np.savetxt(d / "dbar.txt", np.full(8, 1e-3))
    np.save(d / "dbar.npy", np.full(8, 1e-3))
    (d / "junk.txt").write_text("1 2 three\n")
    (d / "sub").mkdir()
    return d


def paths(d):
    return st.sampled_from([str(d / "out.npz"), str(d / "out"), str(d), str(d / "missing" / "x.npz"), "",
                            str(d / "sub") + "/", str(d / "pair.npz" / "x"), str(d / "new\nline.npz"),
                            str(d / "esc\x1b[2J.npz")])


def position_paths(d):
    """--positions-out: the output paths plus other suffixes (.parquet needs pyarrow; .csv is refused)."""
    return st.one_of(paths(d), st.sampled_from([str(d / "pos.parquet"), str(d / "pos.csv"), str(d / "POS.NPZ")]))


def commands(d):
    dbar = st.sampled_from([str(d / "dbar.txt"), str(d / "dbar.npy"), str(d / "junk.txt"), str(d / "missing.txt"),
                            str(d / "sub"), str(d / "pair.npz")])
    criteria = st.one_of(st.sampled_from(["trm_max:0.05", "trm_avg:0.001", "ln_trm:0.1@", "ln_trm:0.05@0.001",
                                          "ser:0.05", "token_k1:0.5_2", "token_k1:0.5", "seq_mean_k1:2_1",
                                          "seq_max_k2:inf", "seq_sum_k3:-1", "trm_max:0.1,trm_avg:0.002",
                                          "trm_max:0.1,token_k2:1", ",", "", "bogus:1", "trm_max:nan"]),
                         st.text(max_size=12))
    return st.one_of(
        st.tuples(st.just(["bounds"]), flags({"--T": ints(1, 5000), "--kl-max": numbers(0, 2)},
                                             {"--tv-max": numbers(0, 1), "--kl-seq": numbers(0, 50),
                                              "--tv-seq": numbers(0, 1), "--tv-pos": dbar,
                                              "--constants": st.sampled_from(["paper", "sharp", "nope"]),
                                              "--chi2-max": numbers(0, 5), "--chi2-sum": numbers(0, 100),
                                              "--sh-moment": st.lists(numbers(-5, 5), min_size=1, max_size=1),
                                              "--h2-moment": numbers(0, 100), "--bhattacharyya": numbers(0, 1.2)})),
        st.tuples(st.just(["threshold"]), flags({"--T": st.lists(ints(1, 10**5), min_size=1, max_size=3),
                                                 "--budget": st.lists(numbers(1e-300, 10), min_size=1, max_size=2)},
                                                {"--constants": st.sampled_from(["paper", "sharp"]),
                                                 "--divergence": st.sampled_from(["kl", "kl-avg", "chi2", "x"])})),
        st.tuples(st.just(["random"]), flags({"--family": st.sampled_from(["automaton", "kgram", "counter", "tabular",
                                                                           "nope"]),
                                              "--seed": ints(0, 2**63 - 1), "--out": paths(d)},
                                             {"--T": ints(1, 12),
                                              "--vocab": ints(1, 6), "--states": ints(1, 50), "--k": ints(1, 4),
                                              "--mismatch": st.sampled_from(["none", "dense", "heavy", "flips",
                                                                             "temperature", "x"]),
                                              "--sigma": numbers(0, 50), "--tau": numbers(0, 10), "--df": numbers(0, 9),
                                              "--rate": numbers(0, 1), "--time-dependent": None})),
        st.tuples(st.just(["simulate", "--device", "cpu"]),
                  flags({"--family": st.sampled_from(["automaton", "kgram", "counter", "tabular"]),
                         "--T": ints(1, 64), "--samples": ints(1, 64)},
                        {"--seed": ints(0, 2**63 - 1),
                         "--criterion": criteria, "--checkpoints": st.lists(ints(1, 64), min_size=1, max_size=3),
                         "--chunk": ints(1, 64), "--block": ints(1, 64), "--reference-delta": numbers(0, 1),
                         "--sigma": numbers(0, 50), "--vocab": ints(1, 6),
                         "--positions-out": position_paths(d), "--json-positions": None})),
        st.tuples(st.just(["lower-bounds"]),
                  flags({"--statistic": st.sampled_from(["kl", "kl-seq", "chi2", "additive", "tv"]),
                         "--value": numbers(0, 2), "--T": st.lists(ints(1, 512), min_size=1, max_size=2)},
                        {"--kl-seq": numbers(0, 1), "--search": None, "--restarts": ints(1, 2),
                         "--maxiter": ints(1, 10), "--family": st.sampled_from(["tabular", "automaton", "x"])})),
        st.tuples(st.just(["exact", str(d / "pair.npz")]),
                  flags({}, {"--T": ints(1, 64), "--method": st.sampled_from(["dp", "enumerate", "x"]),
                         "--budget": ints(0, 10**6), "--worst-reward-out": paths(d),
                         "--positions-out": position_paths(d), "--json-positions": None,
                         "--weights": st.sampled_from(["auto", "full", "coarse", "none", "x"])})),
    )


def _check(worker, files, command):
    head, rest = command
    argv = head + rest + ["--json"]
    outcome = check_contract(worker.run(argv, cwd=files), argv)
    if os.environ.get("TRM_FUZZ_LOG"):
        with open(os.environ["TRM_FUZZ_LOG"], "a") as log:
            log.write(f"{outcome}\t{argv!r}\n")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_flags_keep_the_contract(worker, files, data):
    _check(worker, files, data.draw(commands(files)))


@pytest.mark.slow
@settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_flags_keep_the_contract_long(worker, files, data):
    _check(worker, files, data.draw(commands(files)))


@pytest.mark.parametrize("command", [
    (["lower-bounds"], ["--statistic", "kl", "--value", "0", "--T", "1"]),   # a hyphenated command's error prefix
    (["bounds"], ["--T", "0", "--kl-max", "1e-4"]),
    (["threshold"], ["--T", "16", "--budget", "-1"]),
], ids=["lower-bounds", "bounds", "threshold"])
def test_refusals_keep_the_contract(worker, files, command):
    """A refusal of each kind of command name is one error line that the contract's pattern reads (the long fuzz
    found `trm lower-bounds: error: …` outside a pattern that allowed no hyphen)."""
    head, rest = command
    argv = head + rest + ["--json"]
    assert check_contract(worker.run(argv, cwd=files), argv) == "refused"
