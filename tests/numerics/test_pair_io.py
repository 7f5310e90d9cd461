"""The .npz formats: round trips, recognition from the keys, and refusal of bad input with a
message naming the array, index and value."""
import numpy as np
import pytest
from hypothesis import given

from numerics.errors import TRMInputError
from numerics.generators import random_automaton, random_tabular
from numerics.io import load_pair, save_pair
from numerics.pair import AutomatonPair, TabularPair
from tests.strategies import automaton_pairs, tabular_pairs


@given(automaton_pairs() | tabular_pairs())
def test_round_trip(tmp_path_factory, pair):
    path = tmp_path_factory.mktemp("io") / "pair.npz"
    save_pair(path, pair)
    back = load_pair(path)
    assert type(back) is type(pair)
    for name in pair.__dataclass_fields__:
        if name == "describe_state":
            continue
        assert np.array_equal(np.asarray(getattr(back, name)), np.asarray(getattr(pair, name))), name


def _auto(**overrides):
    pair = random_automaton(np.random.default_rng(0), states=3, vocab=2, T=4)
    arrays = dict(init=pair.init, next_state=pair.next_state, roll=pair.roll, theta=pair.theta, reward=pair.reward, T=4)
    arrays.update(overrides)
    return arrays


def _tab(**overrides):
    pair = random_tabular(np.random.default_rng(0), vocab=2, T=2, prompts=2)
    arrays = dict(roll=pair.roll, theta=pair.theta, reward=pair.reward, prompt=pair.prompt)
    arrays.update(overrides)
    return arrays


def _with(array, index, value):
    out = np.array(array, dtype=float, copy=True)
    out[index] = value
    return out


CASES = [
    (lambda: AutomatonPair(**_auto(roll=_with(_auto()["roll"], (1, 0), -0.1))), r"roll\[1, 0\] = -0.1"),
    (lambda: AutomatonPair(**_auto(theta=_with(_auto()["theta"], (2, 1), np.nan))), r"theta\[2, 1\] = nan"),
    (lambda: AutomatonPair(**_auto(roll=_with(_auto()["roll"], (0, 0), 0.9))), r"roll\[0\] sums to"),
    (lambda: AutomatonPair(**_auto(reward=_with(_auto()["reward"], 2, 1.5))), r"reward\[2\] = 1.5"),
    (lambda: AutomatonPair(**_auto(next_state=np.array([[0, 1], [2, 3], [0, 0]]))), r"next_state\[1, 1\] = 3"),
    (lambda: AutomatonPair(**_auto(init=np.array([0.5, 0.5, 0.5]))), "init sums to"),
    (lambda: AutomatonPair(**_auto(T=0)), "T = 0"),
    (lambda: AutomatonPair(**_auto(roll=np.ones((3, 3)) / 3)), r"roll: expected shape \(3, 2\)"),
    (lambda: AutomatonPair(**_auto(roll=np.full((5, 3, 2), 0.5), theta=np.full((5, 3, 2), 0.5))), "inconsistent"),
    (lambda: AutomatonPair(**_auto(next_state=np.array([[0, 1.5], [2, 1], [0, 0]]))), "integers"),
    (lambda: TabularPair(**_tab(roll=np.full((2, 4, 2), 0.5), theta=np.full((2, 4, 2), 0.5))), "inconsistent shape"),
    (lambda: TabularPair(**_tab(reward=np.zeros((2, 3)))), r"reward: expected shape \(2, 4\)"),
    (lambda: TabularPair(**_tab(prompt=np.array([0.5, 0.6]))), "prompt sums to"),
    (lambda: TabularPair(**_tab(theta=_with(_tab()["theta"], (1, 2, 0), np.inf))), r"theta\[1, 2, 0\] = inf"),
]


@pytest.mark.parametrize("build, message", CASES)
def test_bad_input_is_refused_with_a_message(build, message):
    with pytest.raises(TRMInputError, match=message):
        build()


def test_file_matching_neither_format(tmp_path):
    path = tmp_path / "odd.npz"
    np.savez(path, roll=np.ones((2, 2)), weights=np.ones(2))
    with pytest.raises(TRMInputError, match="match neither format"):
        load_pair(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(TRMInputError, match="no such file"):
        load_pair(tmp_path / "absent.npz")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(TRMInputError, match="not an .npz archive"):
        load_pair(junk)


def test_unexpected_keys_are_named(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez(path, **_auto(), bonus=np.ones(1))
    with pytest.raises(TRMInputError, match="bonus"):
        load_pair(path)


def test_enumeration_beyond_budget_is_refused():
    from numerics.enumeration import enumerate_sequences
    pair = random_automaton(np.random.default_rng(0), states=4, vocab=4, T=12)
    with pytest.raises(TRMInputError, match="beyond the budget"):
        enumerate_sequences(pair)
