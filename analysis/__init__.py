"""Analysis of simulation results: loading sweeps, statistics, figures, reports, theory.

Main entry points:

* :func:`load` — a sweep's runs as a polars LazyFrame (``lazy=False``: a DataFrame);
* :func:`summarize` — mean, standard error and confidence intervals per group (Wilson for
  proportions, t for means);
* :mod:`analysis.figures` — plotly figures (metric against a parameter with CI bands,
  phase diagrams, distributions);
* :func:`build_report` — one self-contained HTML report of a sweep (``sim report``);
* :mod:`analysis.theory` and :mod:`analysis.validation` — the closed forms the engine
  reproduces, and the theory-versus-simulation table behind ``sim validate``.
"""

from analysis.report import build_report
from analysis.results import ResultsError, load, load_manifest, load_timeseries
from analysis.stats import summarize, t_interval, wilson_interval

__all__ = [
    "ResultsError",
    "build_report",
    "load",
    "load_manifest",
    "load_timeseries",
    "summarize",
    "t_interval",
    "wilson_interval",
]
