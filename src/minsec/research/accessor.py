"""``sc.research``: the registry of public R&D programmes and the gaps between research effort and risk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from minsec.model.supply_chain import register_accessor

if TYPE_CHECKING:
    import pandas as pd

    from minsec.model.supply_chain import SupplyChain


@register_accessor("research")
class ResearchAccessor:
    """Research programmes: ``sc.research.programmes(material="dysprosium")``, ``sc.research.gaps()``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    def programmes(self, material: str | None = None, stage: str | None = None, partner: str | None = None,
                   path: str | Path | None = None) -> pd.DataFrame:
        """The registry (108 sourced programmes and projects; ``path``: a registry of your own in the same
        columns), optionally of one material (its programmes and the general ones), stage or partner; budgets
        as published and in US dollars (2023 annual-average rates, facts FX001–FX006)."""
        from minsec.errors import InputError
        from minsec.research.registry import GENERAL, STAGES, read_programmes

        table = read_programmes(path, self._chain.parameter_facts)
        if material is not None:
            chosen = self._chain.check_material(material)
            table = table[table["materials"].map(lambda ms: chosen in ms or GENERAL in ms)]
        if stage is not None:
            if stage not in STAGES:
                raise InputError(f"--stage {stage!r}: one of {', '.join(STAGES)}")
            table = table[table["stages"].map(lambda ss: stage in ss)]
        if partner is not None:
            known = sorted(set(table["partner"]))
            if partner.upper() not in known:
                raise InputError(f"--partner {partner!r}: no programme of it in the registry; partners: "
                                 f"{', '.join(known)}")
            table = table[table["partner"] == partner.upper()]
        return table.reset_index(drop=True)

    def gaps(self, n: int = 4_000, seed: int = 0, path: str | Path | None = None,
             progress=None) -> pd.DataFrame:
        """Material × stage ranked by the partnership's expected GDP loss (weighted by the stage's concentration)
        per dollar of research (:func:`minsec.research.gaps.research_gaps`; ``n`` year-long scenarios for the
        loss)."""
        from minsec.research.gaps import research_gaps
        from minsec.research.registry import read_programmes

        programmes = read_programmes(path, self._chain.parameter_facts)
        impact = self._chain.scenarios.economic_impact("partnership", n, seed, progress=progress)
        return research_gaps(programmes, impact.partnership, self._chain.risk.concentration())
