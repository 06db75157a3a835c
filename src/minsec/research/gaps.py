"""Where the partnership's research effort sits against its risk, per material × supply-chain stage
(docs/methods.md, "Research programmes").

For each material with an expected GDP loss to the partnership (:mod:`minsec.scenarios.economic`) and each
research stage it has:

* **risk** — ``attention_usd = expected_gdp_loss_usd × top_share``: the partnership's expected annual GDP loss from
  disruptions of the material — plus, for an input of a product (Nd, Pr, Dy, Tb in NdFeB magnets), the product's
  loss × the share of its output that needs the input (``catalogue/chain_links.csv`` weights: Dy 0.7), since the
  partners that buy magnets rather than elements are exposed through them — weighted by how concentrated the
  stage is (the leading country's share of world
  output at the matching market stage, latest year: exploration and extraction → mining; separation and refining
  → refining; magnets and alloys → metal or magnets; recycling and substitution, which relieve every stage → the
  most concentrated one);
* **effort** — the programmes that name the material and the stage: their number, the partners running them, and
  ``research_usd``, each programme's funding (:func:`~minsec.research.registry.programme_funding`) split equally
  over the material × stage pairs it names.  Programmes on critical minerals in general are counted apart
  (``general_programmes``), not spread over materials;
* **gap** — ``attention_per_research_usd = attention_usd / max(research_usd, US$1 M)``: expected loss (weighted)
  per dollar of research; pairs without any programme rank first among equals.  Overlaps — a material × stage
  that two or more partners research separately — are candidates for joint programmes (the roadmap's point).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minsec.research.registry import GENERAL, programme_funding

MARKET_STAGE = {"exploration": ("mining",), "extraction": ("mining",), "separation": ("refining",),
                "refining": ("refining", "metal"), "magnets_alloys": ("metal", "manufacturing")}
RELIEF = ("recycling", "substitution")
FLOOR_USD = 1e6


def stage_concentration(concentration: pd.DataFrame) -> dict[tuple[str, str], tuple[float, str, int]]:
    """(material, market stage) → (top share, top country, year) at the latest year with a figure."""
    known = concentration.dropna(subset=["top_share"]).sort_values("year")
    latest = known.groupby(["material", "stage"]).tail(1)
    return {(r.material, r.stage): (float(r.top_share), str(r.top_country), int(r.year))
            for r in latest.itertuples()}


def _stages_of(material: str, shares: dict) -> dict[str, tuple[float, str, int] | None]:
    """The research stages a material has, each with the concentration of its market stage."""
    own = {stage: value for (m, stage), value in shares.items() if m == material}
    out = {}
    for research_stage, market_stages in MARKET_STAGE.items():
        found = [own[s] for s in market_stages if s in own]
        if research_stage == "separation" and material not in _SEPARATED:
            continue
        if found:
            out[research_stage] = max(found)
    if own:
        worst = max(own.values())
        for stage in RELIEF:
            out[stage] = worst
    return out


#: materials whose refining is a separation (rare-earth oxides)
_SEPARATED = {"rare_earths", "cerium", "dysprosium", "erbium", "europium", "gadolinium", "holmium", "lanthanum",
              "lutetium", "neodymium", "praseodymium", "samarium", "terbium", "thulium", "ytterbium", "yttrium"}


def with_product_losses(losses: pd.DataFrame) -> pd.DataFrame:
    """Each material's expected loss plus its share of the losses of the products it goes into (weights of
    ``catalogue/chain_links.csv`` across materials: NdFeB → Nd 1, Pr 0.5, Dy 0.7, Tb 0.7)."""
    from minsec.data import catalogue

    links = catalogue.chain_links()
    own = losses.set_index("material")["expected_gdp_loss_usd"]
    added = pd.Series(0.0, index=own.index)
    for link in links.itertuples():
        product, material = link.downstream.split(".")[0], link.upstream.split(".")[0]
        if product != material and product in own.index and material in own.index and np.isfinite(own[product]):
            added[material] += float(link.weight) * own[product]
    out = losses.copy()
    out["expected_gdp_loss_usd"] = own.reindex(out["material"]).to_numpy() + added.reindex(out["material"]).to_numpy()
    return out


def research_gaps(programmes: pd.DataFrame, losses: pd.DataFrame, concentration: pd.DataFrame) -> pd.DataFrame:
    """One row per material × research stage, ranked by expected loss per research dollar (module docstring).

    ``losses``: the partnership ranking of :class:`~minsec.scenarios.economic.EconomicImpact` (``material``,
    ``expected_gdp_loss_usd``); ``concentration``: ``sc.risk.concentration()``."""
    funding = programme_funding(programmes)
    effort: dict[tuple[str, str], dict] = {}
    general = funding[funding["materials"].map(lambda ms: GENERAL in ms)]
    for row in funding.itertuples():
        pairs = [(m, s) for m in row.materials if m != GENERAL for s in row.stages]
        for pair in pairs:
            cell = effort.setdefault(pair, {"programmes": [], "partners": set(), "research_usd": 0.0, "unpriced": 0})
            cell["programmes"].append(row.programme)
            cell["partners"].add(row.partner)
            if np.isfinite(row.budget_usd):
                cell["research_usd"] += row.budget_usd / len(pairs)
            else:
                cell["unpriced"] += 1
    shares = stage_concentration(concentration)
    losses = with_product_losses(losses)
    rows = []
    for loss in losses.itertuples():
        if not np.isfinite(loss.expected_gdp_loss_usd):
            continue
        for stage, found in _stages_of(loss.material, shares).items():
            share, country, year = found
            cell = effort.get((loss.material, stage), {"programmes": [], "partners": set(), "research_usd": 0.0,
                                                       "unpriced": 0})
            attention = loss.expected_gdp_loss_usd * share
            rows.append({
                "material": loss.material, "stage": stage, "expected_gdp_loss_usd": loss.expected_gdp_loss_usd,
                "top_country": country, "top_share": share, "concentration_year": year,
                "attention_usd": attention, "programmes": len(cell["programmes"]),
                "partners": ", ".join(sorted(cell["partners"])), "research_usd": cell["research_usd"],
                "programmes_without_budget": cell["unpriced"],
                "attention_per_research_usd": attention / max(cell["research_usd"], FLOOR_USD),
                "overlap": len(cell["partners"]) >= 2,
                "programme_names": "; ".join(dict.fromkeys(cell["programmes"]))})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(["attention_per_research_usd", "attention_usd"], ascending=False).reset_index(drop=True)
    table.insert(0, "gap_rank", np.arange(1, len(table) + 1))
    table.attrs["general_programmes"] = len(general)
    return table
