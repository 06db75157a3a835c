"""`SupplyChain`: a dataset's production, trade and governance as labelled arrays."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import xarray as xr

from minsec.data import catalogue, countries
from minsec.data.dataset import Dataset, load


@dataclass
class SupplyChain:
    """Production, world totals, trade and governance of one dataset.

    Arrays (``xarray.DataArray``; NaN = missing):

    * :attr:`production` — ``source × material × stage × country × year``: each economy's output on
      minsec's basis (USGS: the latest release publishing that year);
    * :attr:`world_total` — ``source × material × stage × year``: the publisher's world total;
    * :attr:`other_countries` — same dims: the publisher's "Other countries" remainder;
    * :attr:`basis` — ``source × material × stage``: what is counted (e.g. "Li content");
    * :attr:`governance` — ``indicator × country × year``: WGI estimates and ``pv_gpr``.

    Trade stays a long table (:attr:`trade`; 97 % of exporter × importer pairs are empty) with the material
    and stage of each HS code attached; :meth:`trade_array` gives dense views on request.
    """

    production_table: pd.DataFrame
    trade: pd.DataFrame
    governance_table: pd.DataFrame
    us_salient: pd.DataFrame
    groups: catalogue.Groups
    dataset: Dataset | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, path: str | Path | None = None, groups_path: str | Path | None = None,
             tables: tuple[str, ...] = ("production", "trade", "governance", "us_salient")) -> SupplyChain:
        """Load a tidy dataset directory (default: the bundled one) into a SupplyChain."""
        return cls.from_dataset(load(path, tables=tables), catalogue.load_groups(groups_path))

    @classmethod
    def from_dataset(cls, dataset: Dataset, groups: catalogue.Groups | None = None) -> SupplyChain:
        production = dataset["production"]
        production = production[production["measure"] == "production"]
        # USGS releases overlap (MCS2024 revises MCS2023's estimate for 2022): keep the latest release.
        production = (production.sort_values("release")
                      .drop_duplicates(["source", "material", "stage", "country", "year"], keep="last"))
        hs = catalogue.hs_codes().set_index("hs92")
        trade = dataset["trade"]
        if "material" not in trade.columns:
            trade = trade[trade["hs92"].isin(hs.index)].copy()
            trade["material"] = trade["hs92"].map(hs["material"])
            trade["stage"] = trade["hs92"].map(hs["stage"])
        return cls(production.reset_index(drop=True), trade, dataset["governance"],
                   dataset.tables.get("us_salient", pd.DataFrame()), groups or catalogue.load_groups(), dataset)

    # ------------------------------------------------------------------ labelled arrays
    def _array(self, table: pd.DataFrame, dims: list[str], column: str = "value") -> xr.DataArray:
        series = table.set_index(dims)[column].astype(float)
        return xr.DataArray.from_series(series).sortby(dims)

    @cached_property
    def _economy_rows(self) -> pd.DataFrame:
        """Production rows of single economies (without the WLD/OTH aggregate rows)."""
        return self.production_table[self.production_table["country"].map(countries.is_economy)]

    @cached_property
    def production(self) -> xr.DataArray:
        array = self._array(self._economy_rows, ["source", "material", "stage", "country", "year"])
        array.attrs.update(unit="t", description="production by economy, minsec basis")
        return array

    @cached_property
    def production_reported(self) -> xr.DataArray:
        """Production on the publisher's own basis (e.g. WMD lithium as Li2O), as published methods use it."""
        return self._array(self._economy_rows, ["source", "material", "stage", "country", "year"], "value_reported")

    def _aggregate(self, code: str) -> xr.DataArray:
        rows = self.production_table[self.production_table["country"] == code]
        array = self._array(rows, ["source", "material", "stage", "year"])
        return array.reindex_like(self.production.isel(country=0, drop=True))

    @cached_property
    def world_total(self) -> xr.DataArray:
        return self._aggregate(countries.WORLD)

    @cached_property
    def other_countries(self) -> xr.DataArray:
        return self._aggregate(countries.OTHER)

    def _series_attribute(self, column: str) -> xr.DataArray:
        table = self.production_table.drop_duplicates(["source", "material", "stage"], keep="last")
        return xr.DataArray.from_series(table.set_index(["source", "material", "stage"])[column])

    @cached_property
    def basis(self) -> xr.DataArray:
        return self._series_attribute("basis")

    @cached_property
    def units(self) -> xr.DataArray:
        return self._series_attribute("unit")

    @cached_property
    def governance(self) -> xr.DataArray:
        return self._array(self.governance_table, ["indicator", "country", "year"], "estimate")

    def trade_array(self, measure: str = "quantity_t", years: list[int] | None = None) -> xr.DataArray:
        """Dense ``material × stage × exporter × importer × year`` view of trade (sum over HS codes).

        Missing quantities stay missing only where *all* flows of a cell lack a quantity.
        """
        table = self.trade if years is None else self.trade[self.trade["year"].isin(years)]
        summed = table.groupby(["material", "stage", "exporter", "importer", "year"])[measure].sum(min_count=1)
        return xr.DataArray.from_series(summed)

    # ------------------------------------------------------------------ inputs of published methods
    def geopolrisk_inputs(self) -> dict:
        """The arrays the GeoPolRisk method takes: WMD production on its reported basis (tonnes), the
        normalised PV scores, and the HS codes the method pairs with each WMD series."""
        series = catalogue.wmd_series()
        series_hs = (series.assign(hs92=series["geopolrisk_hs92"].str.split(";"))
                     .explode("hs92").query("hs92 != '' and hs92 == hs92")[["material", "stage", "hs92"]])
        return {
            "production": self.production_reported.sel(source="wmd", drop=True),
            "political_stability": self.governance.sel(indicator="pv_gpr", drop=True),
            "series_hs": series_hs.reset_index(drop=True),
        }

    def geopolrisk(self, years: list[int], importers: list[str] | None = None,
                   materials: list[str] | None = None, intra_group: str = "exclude") -> pd.DataFrame:
        """GeoPolRisk for the given importers (ISO3 or group names; default all) × materials × years."""
        from minsec.risk.geopolrisk import geopolrisk

        inputs = self.geopolrisk_inputs()
        if materials is not None:
            for material in materials:
                self.check_material(material)
            inputs["production"] = inputs["production"].sel(material=[
                m for m in materials if m in inputs["production"].material.values])
            inputs["series_hs"] = inputs["series_hs"][inputs["series_hs"]["material"].isin(materials)]
        return geopolrisk(self.trade, inputs["production"], inputs["political_stability"], inputs["series_hs"],
                          years, importers, self.groups.all_members(), intra_group)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ helpers
    def years(self, source: str) -> list[int]:
        """Years with any production figure from ``source``."""
        known = self.production.sel(source=source).notnull().any(["material", "stage", "country"])
        return [int(y) for y in self.production.year.values[known.values]]

    def check_material(self, material: str) -> str:
        if material not in catalogue.materials().index:
            raise KeyError(f"unknown material {material!r}; see `minsec materials`")
        return material

    def members(self, importer: str) -> frozenset[str]:
        """ISO3 members of a group name, or the single economy for an ISO3 code."""
        if importer in self.groups:
            return self.groups.members(importer)
        return frozenset({countries.normalise_iso3(importer)})
