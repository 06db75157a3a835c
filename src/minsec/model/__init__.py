"""The supply-chain container: labelled arrays over material × stage × country × year.

In the spirit of PyPSA's ``Network``: one object holds a dataset's data as xarray arrays with explicit
dimensions; analyses are pure functions in :mod:`minsec.risk` that take these arrays.  Missing stays
missing (NaN) — never zero.
"""

from minsec.model.supply_chain import SupplyChain

__all__ = ["SupplyChain"]
