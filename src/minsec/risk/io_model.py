"""Economic cost of a material shortfall through input-output tables (after USGS OFR 2025-1047, simplified).

The USGS 2025 assessment (Nassar et al., OFR 2025-1047) takes each disruption's post-disruption equilibrium
price and quantity of a material and finds, by a nonlinear optimisation over BEA's 402-industry tables, the
change in US GDP.  minsec keeps its two channels and replaces the optimisation by closed forms (docs/methods.md,
"Economic cost"):

* **quantity** — the first-using industries *j* of material *m* (share *w_j* of its use, ``first_users.csv``)
  lose output for want of it.  A tonne missing in *j* stands for ``P / a_cj`` dollars of *j*'s output, where
  *a_cj* is the input coefficient of the industry whose product carries the material (primary metals for refined
  metals and oxides, mining for ores, electrical equipment for magnets) into *j* — the material is taken to be as
  essential as the commodity group it belongs to, with *a_cj* floored at 1 % (``LEVERAGE_CAP``) — and never
  more than *j*'s whole output share
  (``X_j / (w_j·D)``: all of *j*'s use of *m* gone).  The lost output of *j* takes with it the value added of its
  domestic suppliers: GDP lost = Σ_i v_i·L_ij / L_jj per dollar (Leontief inverse *L* of the domestic
  coefficients, value-added coefficients *v*).
* **price** — what the region still buys costs (x − 1)·P more a tonne; on its net imports that is income lost
  abroad, on net exports income gained (USGS's net GDP change can be positive for a producer).

Tables: BEA summary 2024 for the USA (71 industries); WIOD 2011 (35 industries) for the other partners and China,
their output scaled by GDP growth 2011 → latest (World Bank WDI facts ``GD…``) — the structure is 2011's.  A region
without a table (ROW) gets no figure, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import pandas as pd

from minsec.data import catalogue
from minsec.data.dataset import bundled_dir

#: region → the country name of its World Bank GDP facts in ``economy.csv``
GDP_NAMES = {"USA": "United States", "EU27": "European Union (EU27)", "JPN": "Japan", "KOR": "Republic of Korea",
             "GBR": "United Kingdom", "CAN": "Canada", "AUS": "Australia", "CHN": "China"}
MILLION = 1e6
#: at most this many dollars of a first user's output stand on one dollar of the material (a_cj floored at 1 %):
#: an assumption, shown in every result (the USGS's own gallium case, OFR 2024-1057: US$3.1 bn of GDP for a
#: complete Chinese restriction of a ~US$10 M/yr US use, VR001, is of this order)
LEVERAGE_CAP = 100.0


@cache
def io_tables() -> pd.DataFrame:
    """The bundled input-output table (``minsec data build`` writes it; see :mod:`minsec.data.loaders.io_tables`)."""
    return pd.read_parquet(bundled_dir() / "io_tables.parquet")


@dataclass(frozen=True)
class IOModel:
    """One region's input-output structure: industries, output (USD, current), coefficients."""

    region: str
    industries: tuple[str, ...]
    output: np.ndarray          # USD per year (scaled to the latest GDP year for WIOD)
    domestic: np.ndarray        # domestic intermediate coefficients A (industry × industry)
    inputs: np.ndarray          # intermediate coefficients from every origin
    value_added: np.ndarray     # value added per dollar of output
    classification: str         # "bea" or "wiod"
    basis: str

    @cached_property
    def leontief(self) -> np.ndarray:
        return np.linalg.inv(np.eye(len(self.industries)) - self.domestic)

    @cached_property
    def gdp_per_output(self) -> np.ndarray:
        """Σ_i v_i·L_ij / L_jj: GDP lost per dollar of industry *j*'s output lost, its domestic suppliers included."""
        return (self.value_added @ self.leontief) / np.diag(self.leontief)

    def index(self, code: str) -> int:
        return self.industries.index(code)


def _gdp(facts: pd.DataFrame, region: str) -> dict[int, tuple[float, str]]:
    rows = facts[(facts["file"] == "economy") & (facts["country"] == GDP_NAMES.get(region, ""))]
    return {int(r.year): (float(r.value), str(r.record_id)) for r in rows.itertuples() if np.isfinite(r.value)}


def build_model(region: str, facts: pd.DataFrame) -> IOModel | None:
    """The region's model from the bundled tables (None where no table covers it)."""
    table = io_tables()
    rows = table[table["region"] == region]
    if rows.empty:
        return None
    output = rows[rows["table"] == "output"].set_index("row")["value"]
    output = output[output > 0]
    industries = tuple(output.index)
    x = output.to_numpy(float)

    def matrix(name: str) -> np.ndarray:
        part = rows[(rows["table"] == name) & rows["row"].isin(industries) & rows["column"].isin(industries)]
        flows = part.pivot_table(index="row", columns="column", values="value", aggfunc="sum")
        flows = flows.reindex(index=list(industries), columns=list(industries)).fillna(0.0).to_numpy()
        return flows / x[None, :]

    domestic, inputs = matrix("use_domestic"), matrix("use")
    year = int(rows["year"].iloc[0])
    scale, basis = 1.0, f"{rows['source'].iloc[0]}"
    if year < 2020:
        gdp = _gdp(facts, region)
        latest = max((y for y in gdp if y > year), default=None)
        if year in gdp and latest is not None:
            scale = gdp[latest][0] / gdp[year][0]
            basis += (f"; {year} structure, output scaled ×{scale:.2f} by GDP {year}→{latest} "
                      f"(World Bank WDI, {gdp[year][1]}/{gdp[latest][1]})")
        else:
            basis += f"; {year} structure and output (no GDP fact to scale it)"
    value_added = np.clip(1.0 - inputs.sum(axis=0), 0.0, 1.0)
    return IOModel(region, industries, x * MILLION * scale, domestic, inputs, value_added,
                   "bea" if region == "USA" else "wiod", basis)


def first_user_rows(material: str) -> pd.DataFrame:
    """The material's rows of ``first_users.csv`` for one region — the USA's where there are, else the first the
    source gives — with ``share`` normalised to sum to 1 (applications as published)."""
    table = catalogue.first_users()
    rows = table[table["material"] == material]
    if rows.empty:
        return rows
    region = "USA" if (rows["region"] == "USA").any() else rows["region"].iloc[0]
    rows = rows[rows["region"] == region]
    return rows.assign(share=rows["share"] / rows["share"].sum())


def first_users(material: str) -> pd.DataFrame:
    """The material's first-using sectors (IO sectors) and their shares, from :func:`first_user_rows`."""
    rows = first_user_rows(material)
    if rows.empty:
        return rows
    region = rows["region"].iloc[0]
    shares = rows.groupby("sector")["share"].sum()
    return pd.DataFrame({"sector": shares.index, "share": (shares / shares.sum()).to_numpy(),
                         "basis": rows.groupby("sector")["basis"].first().reindex(shares.index).to_numpy(),
                         "source": f"{rows['source_title'].iloc[0]} ({region} {rows['year'].iloc[0]})"})


def output_shares(facts: pd.DataFrame) -> pd.DataFrame:
    """Each region's share of world gross output by WIOD industry (region × industry), its 2011 output scaled by
    its GDP growth to the latest GDP fact; the rest of the world's output grows like the named regions' together."""
    table = io_tables()
    rows = table[table["table"] == "wiod_output"].pivot_table(index="region", columns="row", values="value",
                                                              aggfunc="sum").fillna(0.0)
    world = rows.loc["WLD"]
    named = rows.drop(index="WLD")
    scale = {}
    for region in named.index:
        gdp = _gdp(facts, region)
        latest = max(gdp, default=None)
        scale[region] = gdp[latest][0] / gdp[2011][0] if latest and 2011 in gdp else 1.0
    scaled = named.mul(pd.Series(scale), axis=0)
    rest = (world - named.sum()) * (scaled.sum().sum() / named.sum().sum())
    return scaled / (scaled.sum() + rest)


def demand_share(material: str, region: str, shares: pd.DataFrame) -> tuple[float, str] | None:
    """A region's estimated share of world use of ``material``: its share of world output of the material's
    first-using industries, weighted by their shares of its use — the documented last resort where neither
    trade nor a published consumption gives the region's demand.  None without first users or a WIOD region."""
    users = first_users(material)
    if users.empty or region not in shares.index:
        return None
    codes = catalogue.io_sectors().loc[users["sector"], "wiod"].to_numpy()
    share = float((users["share"].to_numpy() * shares.loc[region, codes].to_numpy()).sum())
    industries = ", ".join(dict.fromkeys(codes))
    return share, (f"estimate: {100 * share:.1f} % of world use = the region's share of world output of the "
                   f"first-using industries ({industries}; WIOD 2011 scaled by GDP)")


@dataclass(frozen=True)
class QuantityCoefficient:
    """GDP lost per tonne short of one market in one region, and its split by industry (USD/t)."""

    usd_per_t: float
    by_industry: pd.Series
    basis: str


def quantity_coefficient(model: IOModel, material: str, stage: str, price: float, demand_t: float
                         ) -> QuantityCoefficient | None:
    """GDP lost per tonne of ``material`` (at ``stage``) missing in the model's region (module docstring);
    None where the price, the demand or the first users are unknown."""
    users = first_users(material)
    if users.empty or not np.isfinite(price) or price <= 0 or not demand_t > 0:
        return None
    sectors, carriers = catalogue.io_sectors(), catalogue.io_inputs()
    column = model.classification
    carrier = model.index(carriers.loc[stage, column])
    lost_output = np.zeros(len(model.industries))       # USD of output lost per tonne short, by using industry
    for row in users.itertuples():
        j = model.index(sectors.loc[row.sector, column])
        # a carrier that is a negligible input of j (primary metals in utilities) would make a tonne stand for
        # an absurd output: the coefficient is floored, i.e. at most LEVERAGE_CAP dollars of output per dollar
        coefficient = max(model.inputs[carrier, j], 1.0 / LEVERAGE_CAP)
        ceiling = model.output[j] / (row.share * demand_t)   # all of j's use of the material gone
        per_tonne = min(price / coefficient, ceiling)
        lost_output[j] += row.share * per_tonne
    leontief = model.leontief
    by_industry = model.value_added[:, None] * leontief * (lost_output / np.diag(leontief))[None, :]
    split = pd.Series(by_industry.sum(axis=1), index=list(model.industries))
    estimated = users["basis"].str.startswith("estimate").any()
    return QuantityCoefficient(float(split.sum()), split[split > 0].sort_values(ascending=False),
                               f"first users: {users['source'].iloc[0]}"
                               + (" — shares estimated (equal split)" if estimated else "") + f"; {model.basis}")


@cache
def industry_names() -> dict[str, str]:
    """BEA summary and WIOD industry code → name (``catalogue/io_industries.csv``: BEA's 2017-schema summary
    industry names, WIOD 2013's ISIC rev. 3 names), for the 'industries most hit'."""
    table = catalogue.io_industries()
    return dict(zip(table["code"], table["name"], strict=True))
