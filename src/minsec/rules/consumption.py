"""The CRMA's single-third-country benchmark on what it concerns: a region's annual consumption, not one product.

Regulation (EU) 2024/1252, Art. 5(1)(b): the Union's annual consumption of each strategic raw material, at any
relevant stage of processing, should come from no single third country for more than 65 %.  For region *R*
(the policy's parties, e.g. EU27), market *m* (a material at a stage) and producer country *j* outside *R*, on
the supply-chain baseline's partner demand (:class:`minsec.scenarios.baseline.MarketBaseline`: supply is
producer × region, so *R*'s consumption is split by where it was produced):

    C_mR          = Σ_j supply[m, j, R]                    (R's annual consumption of m, t/yr)
    share_jmR     = supply[m, j, R] / C_mR                 for j a third country (not a member of R)
    top_share_mR  = max_j share_jmR                         exceeds when > maximum_pct

``OTH`` (producers the sources do not name) is not one country: its share is reported apart, and a market
whose largest named share is within the benchmark but would exceed it with ``OTH`` added is ``unknown``.  The
consumption's basis (published consumption, trade, or a share-of-world estimate) is carried on every row, and
so is the basis of its split by producer: recorded trade at the market's stage, or — where trade is blind at that
stage (gallium, germanium, magnesium metal …) — the world output mix, an estimate (``sourcing_estimated``).
"""

from __future__ import annotations

import pandas as pd

#: producers the sources do not name (many small ones): never one country
UNNAMED = "OTH"
COLUMNS = ["region", "material", "stage", "market", "consumption_t_per_yr", "demand_basis", "top_country",
           "top_share_pct", "unnamed_share_pct", "own_share_pct", "threshold_pct", "status", "sourcing_estimated",
           "sourcing_basis", "year"]


#: the minsec stage of a market → the rule's stage of processing (magnet making is not a raw material's)
RULE_STAGE = {"mining": "extraction", "refining": "processing", "metal": "processing"}


def single_supplier_shares(baseline, region: str, members: frozenset[str], maximum_pct: float,
                           materials: list[str] | None = None, scope: set[str] | None = None,
                           stages: list[str] | None = None) -> pd.DataFrame:
    """Per market ``region`` buys, of the materials in ``scope`` (the rule's: a strategic raw material) at the
    rule's ``stages``: the largest single third-country share of its consumption against ``maximum_pct`` (module
    docstring); ``status`` is ``exceeds``, ``within`` or ``unknown``."""
    supply = baseline.supply.sel(region=region).to_pandas()          # market × producer
    producers = [str(p) for p in supply.columns]
    third = [p for p in producers if p not in members and p != UNNAMED]
    own = [p for p in producers if p in members]
    rows = []
    for market, flows in supply.iterrows():
        material, stage = str(market).rsplit(".", 1)
        total = float(flows.sum())
        rule_stage = RULE_STAGE.get(stage)
        if (total <= 0 or (materials is not None and material not in materials)
                or (scope is not None and material not in scope)
                or (stages is not None and rule_stage not in stages)):
            continue
        outside = flows[third]
        top = str(outside.idxmax()) if len(outside) and outside.max() > 0 else None
        top_share = 100 * float(outside.max()) / total if top else 0.0
        unnamed = 100 * float(flows.get(UNNAMED, 0.0)) / total
        sourcing = str(baseline.trade_basis.sel(market=market).item())
        status = ("exceeds" if top_share > maximum_pct + 1e-9 else
                  "unknown" if top_share + unnamed > maximum_pct + 1e-9 else "within")
        rows.append({"region": region, "material": material, "stage": rule_stage, "market": str(market),
                     "consumption_t_per_yr": total,
                     "demand_basis": str(baseline.demand_basis.sel(market=market, region=region).item()),
                     "top_country": top, "top_share_pct": top_share, "unnamed_share_pct": unnamed,
                     "own_share_pct": 100 * float(flows[own].sum()) / total if own else 0.0,
                     "threshold_pct": maximum_pct, "status": status,
                     "sourcing_estimated": sourcing.startswith("none"),
                     "sourcing_basis": "world output mix (no trade recorded at this stage)"
                     if sourcing.startswith("none") else f"recorded trade: {sourcing}", "year": int(baseline.year)})
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["status", "top_share_pct"], ascending=[True, False],
                             key=lambda c: c.map({"exceeds": 0, "unknown": 1, "within": 2}) if c.name == "status"
                             else c).reset_index(drop=True)


def context_line(shares: pd.DataFrame, material: str) -> dict | None:
    """The region's figure for one material (its most concentrated stage), as evidence beside a product check."""
    rows = shares[shares["material"] == material]
    if rows.empty:
        return None
    worst = rows.loc[rows["top_share_pct"].idxmax()]
    return {"material": material, "scope": f"{worst['region']} annual consumption", "stage": worst["stage"],
            "top_country": worst["top_country"], "share_pct": round(float(worst["top_share_pct"]), 6),
            "status": worst["status"], "consumption_t_per_yr": float(worst["consumption_t_per_yr"]),
            "basis": worst["demand_basis"]}
