"""The rare-earth chain as the dashboard page ``/rare-earths`` and the rare-earth briefing show it: mine →
separation → metal → magnet, each stage's concentration per element, and the element oxide prices 2018–2025.

Pure: takes the supply chain, returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from minsec.data import catalogue
from minsec.web import figures
from minsec.web.shares import SOURCE_LABEL
from minsec.web.views import CONCENTRATION_FORMULA, Column, Table, _rows

#: the elements the page follows through every stage (magnet elements first), then NdFeB magnets
CHAIN_MATERIALS = ("neodymium", "praseodymium", "dysprosium", "terbium", "ndfeb_magnets")
STAGE_ORDER = {stage: i for i, stage in enumerate(catalogue.STAGES)}
STAGE_LABEL = {"mining": "mine (element content)", "refining": "separation (oxide)", "metal": "metal",
               "manufacturing": "magnet (NdFeB)"}


def chain_stages(chain) -> pd.DataFrame:
    """Per rare-earth element (and NdFeB) and stage: the latest year's world total, leading country, China's
    share and HHI (``risk concentration --source auto``: USGS where it publishes, minsec's derivation elsewhere)."""
    from minsec.risk.tables import concentration_table

    materials = catalogue.materials()
    wanted = [m for m in materials.index if materials.loc[m, "parent"] == "rare_earths" or m == "ndfeb_magnets"]
    conc = concentration_table(chain, "auto", None, None, None)
    conc = conc[conc["material"].isin(wanted)]
    latest = conc.sort_values("year").groupby(["material", "stage"], as_index=False).tail(1).copy()
    # China's share where it is a known producer; absent from ``shares`` means no known figure, not 0
    latest["china_share"] = [row.get("CHN", float("nan")) for row in latest["shares"]]
    latest["stage_label"] = latest["stage"].map(STAGE_LABEL)
    latest["order"] = latest["stage"].map(STAGE_ORDER)
    order = {m: i for i, m in enumerate(CHAIN_MATERIALS)}
    latest["material_order"] = latest["material"].map(lambda m: order.get(m, len(order)))
    return latest.sort_values(["material_order", "material", "order"]).reset_index(drop=True)


def element_prices(chain, since: int = 2018) -> pd.DataFrame:
    """``material, year, usd_per_kg, source``: each element oxide's annual USGS price from ``since``."""
    from minsec.markets.series import catalogue_prices, material_series

    rows = []
    table = catalogue_prices()
    for material in table.loc[table["stage"] == "refining", "material"].unique():
        if catalogue.materials().loc[material, "parent"] != "rare_earths":
            continue
        series = material_series(chain, material, "refining").since(since)
        for date, price in zip(series.dates, series.prices, strict=True):
            rows.append({"material": material, "year": int(str(date)[:4]), "usd_per_kg": price / 1000,
                         "source": series.source})
    return pd.DataFrame(rows, columns=["material", "year", "usd_per_kg", "source"])


def rare_earth_view(chain) -> dict[str, Any]:
    """The page: the chain table and chart (China's share at every stage), and the price chart and table."""
    stages = chain_stages(chain)
    magnets_chain = stages[stages["material"].isin(CHAIN_MATERIALS)]
    chart = magnets_chain.assign(label=magnets_chain["stage_label"])
    figs = {"chain": figures.bars(chart, "material", "china_share", "China's share at each stage (latest year)",
                                  "China's share (%)", color="label", percent=True)}
    prices = element_prices(chain)
    if len(prices):
        figs["prices"] = figures.lines(prices, "year", "usd_per_kg", "material",
                                       "Rare-earth oxide prices, USD/kg (USGS MCS; log scale)", "USD/kg")
        figs["prices"]["layout"]["yaxis"]["type"] = "log"   # La at $1/kg and Tb at $1,000/kg on one chart
    columns = [Column("material", "Material", "link"), Column("stage_label", "Stage"), Column("year", "Year", "year"),
               Column("world_total", "World", "int"), Column("unit", "Unit"), Column("top_country", "Leader"),
               Column("top_share", "Leader share", "share"), Column("china_share", "China", "share"),
               Column("hhi", "HHI", "float"), Column("source", "Source")]
    sources = "; ".join(f"{key}: {SOURCE_LABEL[key]}" for key in dict.fromkeys(stages["source"]))
    tables = [Table("chain", "Rare earths by element and stage", columns, _rows(stages), source=sources,
                    formula=CONCENTRATION_FORMULA + " Element mine output = REO × deposit profile (docs/data.md, "
                    "'Rare earths by element').", download="/data/production.csv"),
              Table("prices", "Oxide prices 2018–2025 (USD/kg)", [
                  Column("material", "Material", "link"), Column("year", "Year", "year"),
                  Column("usd_per_kg", "USD/kg", "float")], _rows(prices),
                  source="; ".join(dict.fromkeys(prices["source"])) if len(prices) else "",
                  formula="USGS annual average oxide price (China FOB / market), as published")]
    basket = chain.markets.reference_price("rare_earths", method="basket")
    parts = basket.assign(usd_per_kg=basket["reference_usd_per_t"] / 1000,
                          contribution_usd_per_kg=basket["contribution_usd_per_t"] / 1000)
    tables.append(Table("basket", "A single reference price for rare earths (USD per kg of oxide)", [
        Column("material", "Element (first row: the basket)", "link"), Column("weight_share", "Weight", "share"),
        Column("usd_per_kg", "Reference, USD/kg", "float"), Column("contribution_usd_per_kg", "Contribution", "float"),
        Column("window", "Window"), Column("method", "Method")], _rows(parts),
        source="USGS MCS oxide prices; weights: element content of the partnership's mine output (minsec REE chain)",
        formula="R = Σ w_e · R_e / Σ w_e over the priced oxides; R_e = mean of the oxide's annual prices over the "
                "last 3 years (minsec markets reference-price --material rare_earths --method basket); an element "
                "without a price keeps its weight in the table and is left out of the mean"))
    key_figures = [{"label": "Reference price, rare-earth basket of partner mines",
                    "value": f"US${basket['reference_usd_per_t'].iloc[0] / 1000:,.2f}/kg REO", "source": "#basket"}]
    for material, stage in (("dysprosium", "refining"), ("terbium", "refining"), ("ndfeb_magnets", "manufacturing"),
                            ("dysprosium", "mining")):
        row = stages[(stages["material"] == material) & (stages["stage"] == stage)]
        if len(row) and pd.notna(row["china_share"].iloc[0]):
            key_figures.append({"label": f"China's share, {material} {STAGE_LABEL[stage]} ({row['year'].iloc[0]})",
                                "value": f"{100 * row['china_share'].iloc[0]:.0f} %", "source": "#chain"})
    return {"name": "Rare earths: mine → separation → metal → magnet", "key_figures": key_figures,
            "tables": tables, "figures": figs}
