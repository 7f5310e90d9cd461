"""The frameworks' semantics, one module per framework (a *dialect*), found here and nowhere else:
the command line, the run and the report ask this registry.

Every module or package of ``audit/dialects/`` whose name does not start with ``_`` is a dialect
(adding a framework is one module here and one test file, tests/audit/test_<name>.py). It defines:

    NAME        short name ("verl"); its criteria say ``"dialect": NAME``
    ORDER       integer: dialects come in this order on the command line, in the result, the report,
                and when the reader tries tensor names
    TITLE       the framework and what is reproduced (one line)
    SOURCE      repository, commit and files it was read from
    KEYS        {role: (names)}: the framework's tensor names for the reader's roles (old, rollout,
                mask, lengths, scores, advantages, step, extra_mask)
    METRICS     names (or prefixes ending in "/") of the metrics it reports
    DEFAULTS    {option: default}: its options, keys of :attr:`audit.run.AuditConfig.options` (verl's and
                slime's are also AuditConfig fields)
    add_arguments(parser, types)  its argument group of `trm audit` (``types``: the command's argparse
                types, so that a dialect never imports the command line)
    options_from_args(args)       {option: value} read back from the parsed arguments
    plan(options)                 the validated spec (with ``notes``), or None when not asked for
    Rules(spec, info)             one file (``info``: its DumpInfo): ``masks`` (bool), ``add(chunk, st)``
                                  → keep [b, L] bool (True at padding), ``criteria(lengths, tokens)`` →
                                  {label: entry}, ``metrics()`` → {name: value}, ``finish(result)``
                                  (docs-vs-code readings, notes)
and optionally
    layout(obj, path)             where the framework writes a .pt layout of its own: (flat columns
                                  {name: tensor | [1-D tensors] | number}, notes), or None when ``obj``
                                  is not that layout
    example(data)                 the example dump (verl's names, audit.example) as the framework holds
                                  it: a dict of arrays (any format) or its own object for torch.save
                                  (``EXAMPLE_FORMATS``: the suffixes it allows); `trm audit --example OUT
                                  --example-layout NAME`
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from numerics.errors import TRMInputError


@lru_cache(maxsize=None)
def all_dialects() -> tuple:
    """Every dialect module, in ORDER."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            found.append(importlib.import_module(f"{__name__}.{info.name}"))
    return tuple(sorted(found, key=lambda m: (m.ORDER, m.NAME)))


def get(name: str):
    for d in all_dialects():
        if d.NAME == name:
            return d
    raise TRMInputError(f"unknown dialect {name!r}; the audit knows {', '.join(d.NAME for d in all_dialects())}")


def role_keys(base: dict) -> dict:
    """The reader's key table: for each role, the dialects' names (in ORDER), then ``base``'s."""
    roles = dict.fromkeys(list(base) + [r for d in all_dialects() for r in d.KEYS])
    out = {}
    for role in roles:
        names = [n for d in all_dialects() for n in d.KEYS.get(role, ())] + list(base.get(role, ()))
        out[role] = tuple(dict.fromkeys(names))
    return out


def layouts() -> tuple:
    """(dialect name, layout function) of the dialects that read a .pt layout of their own."""
    return tuple((d.NAME, d.layout) for d in all_dialects() if hasattr(d, "layout"))


def option_owners() -> dict:
    """{option name: dialect name}."""
    out = {}
    for d in all_dialects():
        for name in d.DEFAULTS:
            if name in out:                              # pragma: no cover - a programming error
                raise RuntimeError(f"option {name!r} of dialect {d.NAME} is also {out[name]}'s")
            out[name] = d.NAME
    return out


def add_arguments(parser, types) -> None:
    for d in all_dialects():
        d.add_arguments(parser, types)


def options_from_args(args) -> dict:
    out = {}
    for d in all_dialects():
        out.update(d.options_from_args(args))
    return out


def plan(options: dict) -> dict:
    """{dialect name: spec} of the dialects asked for, in ORDER; unknown option names are refused."""
    owners = option_owners()
    unknown = [k for k in options if k not in owners]
    if unknown:
        raise TRMInputError(f"unknown audit option {unknown[0]!r}; the dialects' options are {', '.join(owners)}")
    specs = {}
    for d in all_dialects():
        spec = d.plan({k: options.get(k, default) for k, default in d.DEFAULTS.items()})
        if spec is not None:
            specs[d.NAME] = spec
    return specs


def metric_owner(name: str):
    """The dialect that reports metric ``name`` (None for none)."""
    for d in all_dialects():
        for m in d.METRICS:
            if name == m or (m.endswith("/") and name.startswith(m)):
                return d
    return None


def metric_names(d) -> str:
    """The dialect's metric names as a reader sees them: "rollout_corr/*", "vllm_kl"."""
    return ", ".join(m + "*" if m.endswith("/") else m for m in d.METRICS)


def group_metrics(metrics: dict) -> list:
    """[(dialect or None, {name: value})]: the metrics by the dialect that reports them, in its order."""
    groups = {}
    for key, value in metrics.items():
        d = metric_owner(key)
        groups.setdefault(d.NAME if d else None, (d, {}))[1][key] = value
    return list(groups.values())
