"""Registers every capability's accessor on :class:`~minsec.model.SupplyChain` (``sc.risk``, ``sc.markets``,
``sc.scenarios``, ``sc.stockpile``, ``sc.rules``, ``sc.invest``, ``sc.research``).

Each accessor lives in its own package (``minsec/<capability>/accessor.py``) and registers itself on import
(:func:`minsec.model.supply_chain.register_accessor`, as xarray's accessors do), so the model layer never
imports the layers above it.  :func:`minsec.load` imports this module; the service, the web pages, the jobs and
the command line reach the data through :func:`minsec.load` too.  The accessor modules import their heavy
dependencies inside their methods, so importing this one is cheap.
"""

from __future__ import annotations

import minsec.investment.accessor
import minsec.markets.accessor
import minsec.research.accessor
import minsec.risk.accessor
import minsec.rules.accessor
import minsec.scenarios.accessor
import minsec.stockpile.accessor  # noqa: F401 - imported for their registrations
