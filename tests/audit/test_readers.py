"""Dump readers: every format round-trips, rows stream in chunks, padding is never read as data,
and bad input is refused with the file, key, index and value named."""
import zipfile

import numpy as np
import pytest
import torch

from audit.readers import Dump, exact_divergences, write_dump
from numerics.divergence import token_chi2, token_kl, token_tv
from numerics.errors import TRMInputError

FORMATS = [".npz", ".pt", ".safetensors", ".parquet"]


def _batch(seed=0, B=11, L=13, dtype=np.float32, pad=0.0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, L + 1, size=B)
    lengths[-1] = L
    mask = np.arange(L)[None, :] < lengths[:, None]
    roll = np.log(rng.uniform(0.05, 1.0, (B, L)))
    old = np.minimum(roll + 0.2 * rng.standard_normal((B, L)), 0.0)
    old, roll = np.where(mask, old, pad), np.where(mask, roll, pad)
    return old.astype(dtype), roll.astype(dtype), mask


def _read(path, rows=4, **kw):
    with Dump(path, **kw) as d:
        chunks = list(d.chunks(rows))
        info = d.info
    return info, {k: np.concatenate([getattr(c, k) for c in chunks]) for k in ("old", "roll", "mask")}, chunks


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_in_chunks(tmp_path, suffix):
    old, roll, mask = _batch()
    path = tmp_path / f"d{suffix}"
    write_dump(path, {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": mask.astype(np.int64),
                      "global_steps": np.array(7), "token_level_scores": np.where(mask, 0.25, 0.0).astype(np.float32)})
    info, got, chunks = _read(path)
    assert info.rows == 11 and info.step == 7 and info.length == 13
    assert [c.start for c in chunks] == [0, 4, 8]
    assert np.array_equal(got["mask"], mask)
    assert np.array_equal(got["old"][mask], old[mask].astype(np.float64))
    assert np.array_equal(got["roll"][mask], roll[mask].astype(np.float64))
    assert np.all(got["old"][~mask] == 0) and np.all(got["roll"][~mask] == 0)
    scores = np.concatenate([c.scores for c in chunks])
    assert np.allclose(scores, 0.25 * mask.sum(-1))


@pytest.mark.parametrize("pad", [np.nan, 1e9, -np.inf, 5.0])
@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_padding_may_hold_anything(tmp_path, suffix, pad):
    old, roll, mask = _batch(pad=pad, dtype=np.float64)
    path = tmp_path / f"d{suffix}"
    write_dump(path, {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": mask})
    _, got, _ = _read(path)
    assert np.all(np.isfinite(got["old"])) and np.array_equal(got["old"][mask], old[mask])


def test_compressed_npz_streams(tmp_path):
    old, roll, mask = _batch(B=30)
    path = tmp_path / "c.npz"
    np.savez_compressed(path, old_log_probs=old, rollout_log_probs=roll, response_mask=mask)
    _, got, chunks = _read(path, rows=7)
    assert len(chunks) == 5 and np.array_equal(got["mask"], mask)
    assert np.array_equal(got["old"][mask], old[mask])


def test_bfloat16_tensors(tmp_path):
    old, roll, mask = _batch(dtype=np.float32)
    bf = lambda a: torch.from_numpy(a).to(torch.bfloat16)
    torch.save({"old_log_probs": bf(old), "rollout_log_probs": bf(roll), "response_mask": torch.from_numpy(mask)},
               tmp_path / "b.pt")
    from safetensors.torch import save_file

    save_file({"old_log_probs": bf(old), "rollout_log_probs": bf(roll), "response_mask": torch.from_numpy(mask)},
              str(tmp_path / "b.safetensors"))
    expected = bf(old).float().numpy().astype(np.float64)
    for name in ("b.pt", "b.safetensors"):
        _, got, _ = _read(tmp_path / name)
        assert np.array_equal(got["old"][mask], expected[mask]), name


def test_ragged_rows_and_other_framework_names(tmp_path):
    """slime keeps one tensor per sample; TRL names the mask completion_mask and the engine's log-probs
    sampling_per_token_logps."""
    old, roll, mask = _batch()
    lengths = mask.sum(-1)
    torch.save({"log_probs": [torch.from_numpy(old[i, :n]) for i, n in enumerate(lengths)],
                "rollout_log_probs": [torch.from_numpy(roll[i, :n]) for i, n in enumerate(lengths)]},
               tmp_path / "slime.pt")
    info, got, _ = _read(tmp_path / "slime.pt")
    assert info.keys["old"] == "log_probs" and np.array_equal(got["mask"], mask)
    assert np.array_equal(got["old"][mask], old[mask].astype(np.float64))
    write_dump(tmp_path / "trl.npz", {"old_per_token_logps": old, "sampling_per_token_logps": roll,
                                      "completion_mask": mask.astype(np.int32)})
    info, got, _ = _read(tmp_path / "trl.npz")
    assert info.keys == {"old": "old_per_token_logps", "rollout": "sampling_per_token_logps", "mask": "completion_mask"}
    write_dump(tmp_path / "len.npz", {"a": old, "b": roll, "response_lengths": lengths})
    info, got, _ = _read(tmp_path / "len.npz", keys={"old": "a", "rollout": "b"})
    assert np.array_equal(got["mask"], mask)


RAN = []


def _record(what):
    """Would run if the file's objects were unpickled: it must never run."""
    RAN.append(what)
    return what


class _Foreign:
    """A framework's own class: torch.load(weights_only=True) refuses it."""

    def __init__(self, payload):
        self.payload = payload


class _Trap:
    def __reduce__(self):
        return (_record, ("unpickled",))


def test_objects_weights_only_refuses_are_left_unpickled(tmp_path):
    """numpy values, a foreign class and an object whose unpickling calls a function: the tensors are read,
    numeric numpy values decoded, nothing runs; a role held by such an object is refused by name."""
    old, roll, mask = _batch()
    torch.save({"old_log_probs": torch.from_numpy(old), "rollout_log_probs": roll,       # a numpy array
                "response_mask": torch.from_numpy(mask), "global_steps": np.int64(7), "meta": _Foreign(np.float32(1)),
                "trap": _Trap()}, tmp_path / "mixed.pt")
    info, got, _ = _read(tmp_path / "mixed.pt")
    assert RAN == []
    assert info.step == 7 and np.array_equal(got["roll"][mask], roll[mask].astype(np.float64))
    assert any("weights_only=True) refuses" in n and "_Trap" not in n and "_record" in n for n in info.notes)
    torch.save({"old_log_probs": _Foreign(torch.zeros(2)), "rollout_log_probs": torch.zeros(2, 2)}, tmp_path / "f.pt")
    with pytest.raises(TRMInputError, match=r"'old_log_probs' holds tests.audit.test_readers._Foreign objects"):
        Dump(tmp_path / "f.pt")
    with pytest.raises(TRMInputError, match=r"'x' holds __builtin__.object objects"):
        torch.save({"x": object(), "rollout_log_probs": torch.zeros(2, 2), "response_mask": torch.ones(2, 2)},
                   tmp_path / "o.pt")
        Dump(tmp_path / "o.pt", keys={"old": "x"})
    assert RAN == []


def _write(tmp_path, **arrays):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("case, message", [
    ("shape", r"shape mismatch: old_log_probs \[11, 13\] and rollout_log_probs \[11, 12\]"),
    ("mask_shape", r"shape mismatch: response_mask \[11, 12\]"),
    ("nan", r"old_log_probs\[2, 0\] = nan at a valid position: NaN"),
    ("positive", r"rollout_log_probs\[3, 1\] = 0.5 at a valid position: a positive log-probability"),
    ("neginf", r"rollout_log_probs\[0, 0\] = -inf .*sampled this token"),
    ("mask_value", r"response_mask\[1, 2\] = 2: a mask holds 0 or 1 only"),
    ("empty", r"empty batch \(0 rows"),
    ("no_mask", r"no response mask"),
    ("missing", r"missing the rollout log-probs"),
])
def test_bad_input_is_named(tmp_path, case, message):
    old, roll, mask = _batch(dtype=np.float64)
    m = mask.astype(np.int64)
    arrays = {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": m}
    if case == "shape":
        arrays["rollout_log_probs"] = roll[:, :12]
    elif case == "mask_shape":
        arrays["response_mask"] = m[:, :12]
    elif case == "nan":
        old[2, 0] = np.nan
    elif case == "positive":
        roll[3, 1] = 0.5
    elif case == "neginf":
        roll[0, 0] = -np.inf
    elif case == "mask_value":
        m[1, 2] = 2
    elif case == "empty":
        arrays = {k: v[:0] for k, v in arrays.items()}
    elif case == "no_mask":
        del arrays["response_mask"]
    elif case == "missing":
        del arrays["rollout_log_probs"]
    with pytest.raises(TRMInputError, match=message):
        _read(_write(tmp_path, **arrays))


def test_trainer_minus_infinity_is_accepted(tmp_path):
    """π_θ(y) = 0 at a sampled token is a support mismatch, not bad input."""
    old, roll, mask = _batch(dtype=np.float64)
    old[0, 0] = -np.inf
    _, got, _ = _read(_write(tmp_path, old_log_probs=old, rollout_log_probs=roll, response_mask=mask))
    assert got["old"][0, 0] == -np.inf


def test_unreadable_files(tmp_path):
    (tmp_path / "x.csv").write_text("1,2")
    with pytest.raises(TRMInputError, match="unknown format .csv"):
        Dump(tmp_path / "x.csv")
    (tmp_path / "x.npz").write_text("not a zip")
    with pytest.raises(TRMInputError, match="not a readable .npz"):
        Dump(tmp_path / "x.npz")
    with pytest.raises(TRMInputError, match="no such file"):
        Dump(tmp_path / "missing.pt")
    (tmp_path / "p.pt").write_bytes(b"PK not a torch archive")
    with pytest.raises(TRMInputError, match="weights_only"):
        Dump(tmp_path / "p.pt")
    with zipfile.ZipFile(tmp_path / "o.npz", "w") as z:
        with z.open("old_log_probs.npy", "w") as fh:
            np.save(fh, np.array([[0.0], [0.0, -1.0]], dtype=object), allow_pickle=True)
    with pytest.raises(TRMInputError, match="object array"):
        Dump(tmp_path / "o.npz")


def test_chunk_size_follows_the_memory_budget(tmp_path):
    old, roll, mask = _batch(B=200, L=50)
    path = tmp_path / "m.npz"
    write_dump(path, {"old_log_probs": old, "rollout_log_probs": roll, "response_mask": mask})
    with Dump(path, memory=2**20) as d:
        rows = d.rows_per_chunk()
        assert rows * 50 * 48 * 8 <= 2**20 < (rows + 1) * 50 * 48 * 8
        assert sum(len(c.mask) for c in d.chunks()) == 200


def test_exact_divergences_full_and_topk():
    rng = np.random.default_rng(3)
    logits_r, logits_o = rng.normal(size=(4, 5, 16)), rng.normal(size=(4, 5, 16))
    lp_r = logits_r - np.log(np.exp(logits_r).sum(-1, keepdims=True))
    lp_o = logits_o - np.log(np.exp(logits_o).sum(-1, keepdims=True))
    mask = np.ones((4, 5), dtype=bool)
    mask[0, 3:] = False
    full = exact_divergences(lp_r, lp_o, mask, "full")
    p, q = np.exp(lp_r), np.exp(lp_o)
    assert np.allclose(full["kl"][mask], token_kl(p, q)[mask], rtol=1e-12)
    assert np.allclose(full["tv"][mask], token_tv(p, q)[mask], rtol=1e-12)
    assert np.allclose(full["chi2"][mask], token_chi2(p, q)[mask], rtol=1e-12)
    assert np.all(full["kl"][~mask] == 0)
    idx = np.argsort(-lp_r, -1)[..., :4]
    top = exact_divergences(np.take_along_axis(lp_r, idx, -1), np.take_along_axis(lp_o, idx, -1), mask, "topk")
    for key in ("kl", "tv", "chi2"):
        assert np.all(top[key] <= full[key] + 1e-12), key      # merged cells lower every f-divergence
        assert np.all(top[key][mask] > 0), key
    with pytest.raises(TRMInputError, match="sums to"):
        exact_divergences(lp_r + 0.1, lp_o, mask, "full", "f", ("r", "o"))
