"""The material catalogue and the mappings from each publisher's series to minsec's material × stage.

Schema as data: the CSV files beside this module are the single source of truth; this module only reads
and validates them.

* ``materials.csv`` — id, name, family, parent (rare-earth elements → ``rare_earths``, for the element ids to
  come), EU CRMA 2023 status (strategic / critical / no), membership of the US 2022 and final 2025 lists of
  critical minerals (sources in ``materials.PROVENANCE.md``).
* ``usgs_series.csv`` — USGS world-table code + series-type pattern → material, stage, basis.
* ``wmd_series.csv`` — World Mining Data commodity → material, stage, reported basis, minsec basis and the
  stoichiometric ``content_factor`` between them (Li2O → Li 0.46452 = 2·6.941/29.881, etc.).
* ``hs_codes.csv`` — HS 1992 six-digit code → material, stage, basis and content factor where the product
  has a defined composition (NaN where the grade varies, e.g. ores and concentrates); where it varies,
  ``typical_content_factor`` gives an assumed typical grade (with ``typical_content_note``) that the
  scenario baseline uses to put trade on the production basis.
* ``reference_prices.csv`` — the price series (USGS salient field or Pink Sheet series) and unit factor that
  give each market's reference price in USD per tonne of its basis.
* ``us_consumption.csv`` — USGS salient fields holding US apparent consumption, for markets without
  bilateral trade data; ``published_consumption.csv`` — sourced facts giving other regions' consumption.
* ``chain_links.csv`` — a product's inputs across materials (NdFeB ← Nd, Pr, Dy, Tb metal) and oxide per tonne
  of metal; ``end_uses.csv`` — end-use sectors of magnets and magnet elements.
* ``units.csv`` — every mass unit publishers use (t, kt, kg, Mt, lb …) with its factor to metric tonnes,
  and the non-mass units kept as they are (helium in million cubic metres, diamonds in carats).
* ``conversions.csv`` — product → minsec basis by stoichiometry for stated capacities (LiOH·H2O → Li …;
  sources in ``conversions.PROVENANCE.md``).
* ``first_users.csv`` — the first-using industries of each material with the share of its use and the source
  (USGS MCS end-use percentages; an equal split over MCS 2026 Table 6's applications where none are published);
* ``io_sectors.csv`` / ``io_inputs.csv`` — end-use sector → BEA summary and WIOD industry; stage → the industry
  whose product carries a material to its users (economic cost, :mod:`minsec.risk.io_model`);
  ``io_industries.csv`` their names (BEA summary 2017 schema, WIOD 2013);
* ``groups.yaml`` — country groups (EU27, the partnership); :meth:`Groups.resolve` turns a group name or an
  ISO3 code into its members, the one place where that is done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from minsec.errors import InputError, UnknownNameError

#: supply-chain stages: mine output, refined / separated product, metal (rare-earth metals and alloys), and
#: manufactured products (NdFeB and SmCo magnets)
STAGES = ("mining", "refining", "metal", "manufacturing")

#: chemical symbols / names used in the export-control table → minsec material
ELEMENT_MATERIALS = {
    "Ga": "gallium", "Ge": "germanium", "Sb": "antimony", "C (graphite)": "graphite", "W": "tungsten",
    "Te": "tellurium", "Bi": "bismuth", "Mo": "molybdenum", "In": "indium", "Li": "lithium", "Ni": "nickel",
    "Co": "cobalt", "Mn": "manganese", "REE": "rare_earths", "Sm": "samarium", "Gd": "gadolinium",
    "Tb": "terbium", "Dy": "dysprosium", "Lu": "lutetium", "Sc": "scandium", "Y": "yttrium",
    "Ho": "holmium", "Er": "erbium", "Tm": "thulium", "Eu": "europium", "Yb": "ytterbium",
    "La": "lanthanum", "Ce": "cerium", "Pr": "praseodymium", "Nd": "neodymium", "NdFeB": "ndfeb_magnets",
    "SmCo": "smco_magnets",
    "Ag": "silver", "Cu": "copper", "Au": "gold", "Fe": "iron_ore", "Zn": "zinc", "Pb": "lead", "K": "potash",
    "Al (bauxite)": "bauxite", "Al": "aluminium", "Cr": "chromium", "Ti": "titanium", "Sn": "tin", "Nb": "niobium",
    "Ta": "tantalum", "Rh": "rhodium", "Mg": "magnesium", "P (apatite)": "phosphate_rock", "gypsum": "gypsum",
    "U (enriched)": "uranium",
}
#: magnets a product control names in its scope text (see :func:`control_materials`)
SCOPE_MAGNETS = ((re.compile(r"NdFeB|Nd-Fe-B|neodymium[- ]iron[- ]boron", re.IGNORECASE), "ndfeb_magnets"),
                 (re.compile(r"SmCo|Sm-Co|samarium[- ]cobalt", re.IGNORECASE), "smco_magnets"))


def control_materials(elements: str, scope: str = "") -> list[str]:
    """minsec materials named by an export-control record's ``elements`` field (``"Ga;Ge"``, ``"REE (technology)"``):
    a rare-earth element names its own id and, once, ``rare_earths`` (a control on Dy is a control on part of the
    REO basket), the basket first.

    ``scope`` (the record's ``materials_scope``) adds the magnets a product control names: MOFCOM/GAC No. 18 of
    2025 lists Sm, Gd, Tb, Dy … and "some items extend to SmCo and Tb-/Dy-containing NdFeB permanent magnet
    materials", so it is a control on magnets too.  A technology control (``"REE (technology)"``) restricts
    know-how, not products: its scope adds nothing."""
    out = []
    parents = materials()["parent"]
    for element in str(elements).split(";"):
        element = element.strip()
        material = ELEMENT_MATERIALS.get(element) or ELEMENT_MATERIALS.get(element.split(" ")[0])
        if material and parents.get(material) == "rare_earths" and "rare_earths" not in out:
            out.append("rare_earths")
        if material and material not in out:
            out.append(material)
    if "technology" not in str(elements).lower():
        for pattern, material in SCOPE_MAGNETS:
            if pattern.search(str(scope)) and material not in out:
                out.append(material)
    return out


def parts(total: str) -> list[str]:
    """The materials whose ``parent`` is ``total`` (``parts("rare_earths")``: the rare-earth elements), in
    catalogue order."""
    table = materials()
    return list(table.index[table["parent"] == total])


def benchmark_scope(region: str) -> set[str]:
    """The materials a region's supply benchmarks concern: for the EU27 its strategic raw materials (CRMA, Regulation
    (EU) 2024/1252 Annex I Section 1: the catalogue's ``eu_crma_2023``, rare-earth elements for magnets by
    element), for any other region the 2025 US critical-minerals list (the US analogue)."""
    table = materials()
    if region == "EU27":
        return set(table.index[table["eu_crma_2023"] == "strategic"])
    return set(table.index[table["us_critical_2025"] == "yes"])


def _path(name: str) -> Path:
    return Path(str(resources.files(__package__).joinpath(name)))


@cache
def materials() -> pd.DataFrame:
    """The material catalogue, indexed by material id."""
    table = pd.read_csv(_path("materials.csv"), dtype=str, keep_default_na=False).set_index("material")
    if table.index.duplicated().any():
        raise ValueError(f"duplicate material ids: {list(table.index[table.index.duplicated()])}")
    return table


@cache
def usgs_series() -> pd.DataFrame:
    table = pd.read_csv(_path("usgs_series.csv"), dtype=str, keep_default_na=False)
    _check(table, "usgs_series.csv")
    return table


@cache
def wmd_series() -> pd.DataFrame:
    table = pd.read_csv(_path("wmd_series.csv"), dtype={"content_factor": float}, keep_default_na=False)
    _check(table, "wmd_series.csv")
    return table


@cache
def geopolrisk_series_hs() -> pd.DataFrame:
    """``material, stage, hs92``: the HS codes the GeoPolRisk method pairs with each WMD series (main and
    complementary codes of ``wmd_series.csv``'s ``geopolrisk_hs92``; series without one are absent)."""
    series = wmd_series()
    pairs = series.assign(hs92=series["geopolrisk_hs92"].str.split(";")).explode("hs92")
    return pairs.query("hs92 != '' and hs92 == hs92")[["material", "stage", "hs92"]].reset_index(drop=True)


@cache
def hs_codes() -> pd.DataFrame:
    table = pd.read_csv(_path("hs_codes.csv"),
                        dtype={"hs92": str, "content_factor": float, "typical_content_factor": float},
                        keep_default_na=False, na_values={"content_factor": [""], "typical_content_factor": [""]})
    _check(table, "hs_codes.csv")
    if table["hs92"].duplicated().any():
        raise ValueError("hs_codes.csv: an HS code is mapped to two materials")
    return table


@cache
def reference_prices() -> pd.DataFrame:
    """Each market's reference price series: ``material, stage, source, series, to_usd_per_t, note``."""
    return pd.read_csv(_path("reference_prices.csv"), dtype={"to_usd_per_t": float})


@cache
def chain_links() -> pd.DataFrame:
    """``chain_links.csv``: ``downstream, upstream, weight, input_t_per_t, facts, note`` (markets as
    ``material.stage``): the inputs of a product beyond its own material's previous stage (NdFeB ← Nd, Pr, Dy, Tb
    metal) and the oxide per tonne of metal, each with the sourced facts behind it."""
    return pd.read_csv(_path("chain_links.csv"), dtype={"facts": str}, keep_default_na=False,
                       na_values={"weight": [""], "input_t_per_t": [""]})


@cache
def published_consumption() -> pd.DataFrame:
    """``published_consumption.csv``: ``market, region, fact, factor, note`` — which sourced fact gives a region's
    consumption of a market without trade data (t/yr = fact value × factor)."""
    return pd.read_csv(_path("published_consumption.csv"), dtype={"fact": str}, keep_default_na=False,
                       na_values={"factor": [""]})


@cache
def end_uses() -> pd.DataFrame:
    """``end_uses.csv``: ``material, sector, share, facts, note`` — end-use sectors of manufactured products and
    of the elements that go into them, beside the value-at-risk facts' end-use shares."""
    return pd.read_csv(_path("end_uses.csv"), dtype={"facts": str}, keep_default_na=False,
                       na_values={"share": [""]})


@cache
def us_consumption() -> pd.DataFrame:
    """USGS salient fields of US apparent consumption: ``material, stage, field, to_t, note``."""
    return pd.read_csv(_path("us_consumption.csv"), dtype={"to_t": float})


@cache
def units() -> pd.DataFrame:
    """Publishers' unit codes, indexed by ``unit``: ``kind`` (mass / volume / count), ``to_t`` (mass units: the
    factor to metric tonnes), ``minsec_unit`` (the unit minsec stores), ``note``."""
    return pd.read_csv(_path("units.csv"), dtype={"to_t": float}, keep_default_na=False,
                       na_values={"to_t": [""]}).set_index("unit")


def to_minsec_unit(unit: str) -> tuple[str, float]:
    """(the unit minsec stores, the factor to it) for a publisher's unit code: ``"kt"`` → ``("t", 1000.0)``,
    ``"mcm"`` → ``("Mm3", 1.0)``; :class:`~minsec.errors.UnknownNameError` for a code not in units.csv."""
    table = units()
    if unit not in table.index:
        raise UnknownNameError(f"unit {unit!r} is not in the catalogue (units.csv)")
    row = table.loc[unit]
    return str(row["minsec_unit"]), float(row["to_t"]) if row["kind"] == "mass" else 1.0


@cache
def conversions() -> pd.DataFrame:
    """Product → minsec basis conversions for stated capacities: ``material, unit_pattern, factor, basis, note``."""
    return pd.read_csv(_path("conversions.csv"))


def _check(table: pd.DataFrame, name: str) -> None:
    unknown = set(table["material"]) - set(materials().index)
    if unknown:
        raise ValueError(f"{name}: materials not in materials.csv: {sorted(unknown)}")
    bad_stage = set(table["stage"]) - set(STAGES)
    if bad_stage:
        raise ValueError(f"{name}: unknown stages {sorted(bad_stage)}")


@dataclass(frozen=True)
class Groups:
    """Country groups (EU27, the partnership, …) resolved to sets of ISO3 codes."""

    definitions: dict[str, dict]

    def members(self, group: str) -> frozenset[str]:
        """ISO3 members of a group; a member may itself be a group (expanded recursively)."""
        if group not in self.definitions:
            raise UnknownNameError(f"unknown group {group!r}; known: {sorted(self.definitions)}")
        out: set[str] = set()
        for member in self.definitions[group]["members"]:
            out |= self.members(member) if member in self.definitions else {member}
        return frozenset(out)

    def resolve(self, name: str) -> frozenset[str]:
        """ISO3 members of a group name, or the one economy of an ISO3 code (``"usa"`` → ``{"USA"}``).

        Raises :class:`~minsec.data.countries.UnknownCountryError` for a name that is neither."""
        from minsec.data import countries

        if name in self.definitions:
            return self.members(name)
        return frozenset({countries.normalise_iso3(name)})

    def all_members(self) -> dict[str, frozenset[str]]:
        """Every group name → its ISO3 members."""
        return {name: self.members(name) for name in self.definitions}

    def __contains__(self, group: str) -> bool:
        return group in self.definitions

    @property
    def names(self) -> list[str]:
        return list(self.definitions)


def load_groups(path: str | Path | None = None) -> Groups:
    """Read a groups YAML file (default: the one shipped with minsec) and validate its members."""
    from minsec.data import countries

    source = Path(path) if path is not None else _path("groups.yaml")
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{source}: cannot read groups file: {exc}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{source}: expected a mapping of group name → {{name, members}}")
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("members"), list):
            raise InputError(f"{source}: group {name!r} needs a 'members' list")
        for member in spec["members"]:
            if member in raw:
                continue
            try:
                countries.normalise_iso3(str(member))
            except countries.UnknownCountryError:
                raise InputError(f"{source}: group {name!r}: unknown member {member!r}") from None
    return Groups(raw)


@cache
def first_users() -> pd.DataFrame:
    """``first_users.csv``: the first-using industries of each material and the share of its use —
    ``material, application, sector, share, region, year, basis, source_title, source_url, locator, confidence``.
    ``basis`` is ``published share`` (USGS MCS end-use percentages, sourced facts) or an ``estimate: …`` (equal
    split over the applications MCS 2026 Table 6 lists, where no percentages are published)."""
    return pd.read_csv(_path("first_users.csv"), dtype={"year": "Int64"}, keep_default_na=False,
                       na_values={"share": [""]})


@cache
def io_sectors() -> pd.DataFrame:
    """``io_sectors.csv``: end-use sector → BEA summary industry and WIOD industry (``sector, bea, wiod, note``)."""
    return pd.read_csv(_path("io_sectors.csv"), dtype=str).set_index("sector")


@cache
def io_inputs() -> pd.DataFrame:
    """``io_inputs.csv``: stage → the BEA / WIOD industry whose product carries the material into its users."""
    return pd.read_csv(_path("io_inputs.csv"), dtype=str).set_index("stage")


@cache
def io_industries() -> pd.DataFrame:
    """``io_industries.csv``: ``classification`` (bea / wiod), ``code``, ``name`` of the input-output industries."""
    return pd.read_csv(_path("io_industries.csv"), dtype=str)
