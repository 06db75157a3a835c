"""Emergency planning: baseline market, disruption scenarios, Monte Carlo ensembles, coordinated allocation.

The main entry points are re-exported lazily (importing a submodule such as ``scenarios.schema`` stays
light): ``ScenarioContext``, ``load_scenario``, ``run_scenario``, ``run_ensemble``, ``EnsembleSpec``,
``allocate``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"ScenarioContext": "run", "run_scenario": "run", "load_scenario": "schema", "library": "schema",
            "run_ensemble": "ensemble", "EnsembleSpec": "ensemble", "allocate": "allocation"}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"minsec.scenarios.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'minsec.scenarios' has no attribute {name!r}")


__all__ = list(_EXPORTS)
