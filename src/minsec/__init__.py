"""minsec — operational platform for an allied critical-minerals partnership.

The public Python API is one function and the object it returns::

    import minsec
    sc = minsec.load()                      # the bundled dataset (SQLite-free, nothing downloaded)
    sc.risk.concentration(material="gallium", year=2023)
    sc.scenarios.run("gallium_partnership_ban_12m").by_region
    sc.stockpile.optimize(budget_usd=12e9)

:func:`load` returns a :class:`~minsec.model.SupplyChain` (every table of the dataset as a field, labelled arrays,
and the accessors ``risk``, ``scenarios``, ``stockpile``, ``markets``, ``rules``, ``invest``,
``research``); docs/python.md walks
through a session.  Errors a user can correct are :class:`~minsec.errors.MinsecError`.

Layers (imports point one way, towards the core): ``errors`` → ``data`` → ``model`` → ``risk``, ``markets`` →
``signals`` → ``scenarios`` → ``stockpile`` → ``investment``, ``rules``, ``research`` → ``accessors`` (:func:`load`) →
``service`` → ``web`` → ``server`` → ``cli``.  Imports are lazy so that ``import minsec`` and ``minsec --help``
stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minsec.errors import MinsecError
    from minsec.model.supply_chain import SupplyChain

__version__ = "0.1.0"
__all__ = ["MinsecError", "SupplyChain", "__version__", "load"]


def load(path: str | Path | None = None, *, groups: str | Path | None = None, cache: bool = True) -> SupplyChain:
    """The supply chain of a tidy data directory (default: the dataset bundled with minsec), with accessors.

    ``path``: a directory in minsec's tidy format (docs/data-format.md); ``groups``: a country-groups YAML file
    (default: EU27 and the partnership as shipped).  With ``cache`` the same object comes back while the files
    are unchanged (a second load takes microseconds; treat its tables as read-only).  Raises
    :class:`~minsec.errors.MinsecError` naming the table, row and column of a broken directory.
    """
    import minsec.accessors  # noqa: F401 - registers sc.risk, sc.scenarios, … on SupplyChain
    from minsec.model.supply_chain import load_supply_chain

    return load_supply_chain(path, groups, cache=cache)


def __getattr__(name: str):
    if name == "SupplyChain":
        import minsec.accessors  # noqa: F401 - a SupplyChain always comes with its accessors
        from minsec.model.supply_chain import SupplyChain

        return SupplyChain
    if name == "MinsecError":
        from minsec.errors import MinsecError

        return MinsecError
    raise AttributeError(f"module 'minsec' has no attribute {name!r}")
