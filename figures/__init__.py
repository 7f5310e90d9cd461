"""One command regenerates every figure and table: ``python -m figures`` (or ``trm figures``).

Each figure is a module ``figures/fig_<name>.py`` with ``compute(cfg) -> dict of arrays`` (seeded,
cached with a provenance record) and ``plot(data) -> matplotlib Figure``; ``figures.registry``
lists them, ``figures.cache`` stores data, ``figures.render`` writes deterministic PNG and PDF.
"""
