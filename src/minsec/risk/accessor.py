"""``sc.risk``: supply-risk indices of a SupplyChain, as pandas DataFrames (the columns of ``minsec risk … -f json``).

Every method validates its selection at the door (an unknown material, year, stage or country raises a
:class:`~minsec.errors.MinsecError` naming it) and returns one row per result; missing figures stay NaN and are
never zero.  A selection the data hold no figure for raises :class:`~minsec.errors.NoDataError` saying why and
which source, stage or year has one — never an empty table.  Methods and their equations: docs/methods.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from minsec.model.supply_chain import register_accessor
from minsec.risk import tables

if TYPE_CHECKING:
    import pandas as pd

    from minsec.model.supply_chain import SupplyChain


@register_accessor("risk")
class RiskAccessor:
    """Concentration, GeoPolRisk, net import reliance and partner routes: ``sc.risk.concentration(...)``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    def concentration(self, material: str | None = None, stage: str | None = None, year: int | None = None,
                      source: str = "auto") -> pd.DataFrame:
        """Production shares of the published world total, leading producer, HHI (0–1) and producer count per
        material × stage × year.

        HHI = Σ s² over named economies (the unallocated remainder treated as atomised, a lower bound);
        ``hhi_upper`` counts the remainder as one producer; ``exceeds_65pct`` flags one country above the EU CRMA
        benchmark.  ``source``: ``auto`` (USGS; minsec's derived rare-earth chain — elements, NdPr oxide, magnets —
        where USGS publishes nothing), ``usgs`` (MCS world tables), ``wmd`` (World Mining Data) or ``minsec``;
        tonnes on the ``basis`` column; ``shares`` maps each economy to its share, largest first."""
        return tables.require_rows(tables.concentration_table(self._chain, source, material, stage, year))

    def geopolrisk(self, importer: str | Iterable[str] = "all", year: tables.Years = "all",
                   material: str | None = None, intra_group: str = "exclude",
                   political_stability: str = "minsec") -> pd.DataFrame:
        """GeoPolRisk score (HHI × import risk) and characterisation factor (kg Cu-eq/kg) per importer × material
        × year (Gemechu et al. 2016; geopolrisk-py 2.0.1).

        ``importer``: ISO3, a group (``EU27``, ``partnership``), a list of them, or ``"all"``; ``year``: a year,
        a list or ``"all"`` (every year with BACI trade and WMD production: 2018–2024); groups are one economic
        entity (``intra_group="exclude"``, or ``"zero_risk"`` as geopolrisk-py's EU).  Exporters with an imputed
        political stability (0.5) are listed in ``imputed_exporters``; a figure that cannot be computed is
        missing and ``reason`` says why (no HS 1992 code, no flow that year, no production figures).
        ``political_stability="geopolrisk-py"`` reads the scores as geopolrisk-py joins them (Taiwan imputed 0.5,
        Guyana given French Guiana's series): with ``intra_group="zero_risk"`` for its EU, its own numbers."""
        return tables.geopolrisk_table(self._chain, importer, year, material, intra_group, political_stability)

    def import_reliance(self, importer: str = "EU27", year: tables.Years = "all", material: str | None = None,
                        source: str = "wmd") -> pd.DataFrame:
        """Net import reliance (M − X) / (P + M − X), trade put on the production basis per HS code (codes of
        another basis are not mixed in); for the USA beside USGS's published NIR.  ``importer="all"``: every
        group."""
        return tables.require_rows(tables.import_reliance_records(self._chain, importer, year, material, source))

    def routes(self, importer: str = "all", year: tables.Years = "latest", material: str | None = None,
               suppliers: bool = False) -> pd.DataFrame:
        """Share of imports from partners vs outside suppliers per importer × material × stage × year
        (``suppliers=True``: one row per outside supplier); for EU27 the CRMA 65 % import-dependence check.
        ``year``: a year, a list, ``"all"`` or ``"latest"`` (default: the newest trade year, 2024 in BACI)."""
        return tables.require_rows(tables.routes_table(self._chain, importer, year, material, suppliers))

    def us_exposure(self, material: str | None = None, period: str | int = "latest",
                    by_partner: bool = False) -> pd.DataFrame:
        """US imports per HS-4 heading × period to January–April 2026 (USITC DataWeb, the ``us_trade`` table):
        value, gross tonnes, each partner's share, partnership members' vs others' share, the largest supplier
        (``exceeds_65pct``), China's share, and the change against the same months a year earlier (Jan–Apr 2026
        vs Jan–Apr 2025, 2025 vs 2024).  ``by_partner=True``: one row per heading × period × partner.

        Shares are of imports **from the 18 recorded partners**, by value — not of all US imports (the download
        has no world total; ``coverage_note``).  ``material``: the headings of a catalogue material or holding it
        (gallium → 8112, a mixed heading with its ``content_note``); ``period``: ``"latest"`` (January–April
        2026), ``"all"``, ``2025`` or ``"2026-01..2026-04"``.  A suppressed quantity stays null with its flag
        (``quantity_note``); a material without a heading raises :class:`~minsec.errors.NoDataError` listing the
        headings (:mod:`minsec.risk.us_exposure`)."""
        from minsec.data.loaders.usitc import hts4_materials
        from minsec.risk.us_exposure import us_exposure

        chosen = None if material is None else self._chain.check_material(material)
        partnership = self._chain.members("partnership") - {"USA"}
        return us_exposure(self._chain.us_trade, hts4_materials(), partnership, chosen, period, by_partner)

    def overview(self, year: int | None = None, top: int = 10) -> dict[str, pd.DataFrame]:
        """The risk overview, titled tables: most concentrated materials per stage, CRMA 65 % breaches by third
        countries, top GeoPolRisk of the USA and the EU (``minsec overview``)."""
        return tables.overview_sections(self._chain, year, top)
