"""Compute (or reuse cached) data and render each figure."""
from __future__ import annotations

import inspect
from pathlib import Path

from figures import cache, render
from figures.config import FigureConfig
from figures.registry import FIGURES
from numerics.errors import TRMInputError

#: Figures are written to the working directory, never into the installed package.
DEFAULT_OUT = Path("figures-out")
DEFAULT_CACHE = DEFAULT_OUT / "cache"


ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("proofs", "numerics", "gpu_sim")


def _code_fingerprint() -> str:
    """The source of every layer a figure's data depends on (proofs, numerics, gpu_sim)."""
    return "".join(path.read_text() for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py")))


def figure_data(module, cfg: FigureConfig, cache_dir: Path, progress=None, refresh: bool = False) -> dict:
    """The figure's data: from the cache when its key (configuration, the figure module's source and
    the source of the layers below) matches."""
    key = cfg.key(inspect.getsource(module) + _code_fingerprint())
    name = f"{module.NAME}-{'fast' if cfg.fast else 'full'}"
    if not refresh:
        data = cache.load(cache_dir, name, key)
        if data is not None:
            return data
    kwargs = {"progress": progress} if "progress" in inspect.signature(module.compute).parameters else {}
    data = module.compute(cfg, **kwargs)
    cache.save(cache_dir, name, data, cache.provenance(cfg, key))
    stored = cache.load(cache_dir, name, key)
    if stored is None:
        raise TRMInputError(f"cache {cache_dir}: the entry for {name} could not be read back after writing it")
    return stored


def build(names=None, cfg: FigureConfig = FigureConfig(), out_dir: Path = DEFAULT_OUT, cache_dir: Path = DEFAULT_CACHE,
          progress=None, refresh: bool = False, step_progress=None) -> list[Path]:
    """Make the named figures (all by default). ``progress(name)`` is called after each figure and
    ``step_progress()`` after each unit of a long computation (a simulation, a training run)."""
    names = list(FIGURES) if not names else names
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise TRMInputError(f"--only {', '.join(unknown)}: unknown figure; choose from {', '.join(FIGURES)}")
    written = []
    for name in names:
        module = FIGURES[name]
        data = figure_data(module, cfg, Path(cache_dir), progress=step_progress, refresh=refresh)
        written += render.save(module.plot(data), Path(out_dir), name)
        if hasattr(module, "write_extra"):
            written += module.write_extra(data, Path(out_dir))
        if progress is not None:
            progress(name)
    return written
