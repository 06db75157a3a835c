"""The whole tables behind the dashboard's pages, for their CSV downloads (``/data/{table}.csv``): one builder per
table, each the same call the page makes (so the file holds the page's numbers, and all of its rows).

Takes the supply chain (and, for the stock reports, the service's database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd


def _joined(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """List cells as ``a;b`` (CSV has no lists)."""
    return frame.assign(**{c: frame[c].map(lambda v: ";".join(v) if isinstance(v, list | tuple) else v)
                           for c in columns if c in frame})


def concentration(chain, stage=None, material=None, **_) -> pd.DataFrame:
    from minsec.risk.tables import concentration_table

    return concentration_table(chain, "usgs", material, stage, None)


def geopolrisk(chain, importer=None, material=None, **_) -> pd.DataFrame:
    from minsec.risk.tables import geopolrisk_table

    return geopolrisk_table(chain, importer or "all", "all", material)


def research_programmes(chain, material=None, **_) -> pd.DataFrame:
    return _joined(chain.research.programmes(material=material), "materials", "stages")


def research_gaps(chain, **_) -> pd.DataFrame:
    from minsec.web.research import PAGE_SCENARIOS

    return chain.research.gaps(PAGE_SCENARIOS, 0)


def economic_ranking(chain, **_) -> pd.DataFrame:
    from minsec.web.research import PAGE_SCENARIOS

    return chain.scenarios.economic_impact("partnership", PAGE_SCENARIOS, 0).partnership


def economic_impact(chain, **_) -> pd.DataFrame:
    from minsec.web.research import PAGE_SCENARIOS

    return chain.scenarios.economic_impact("partnership", PAGE_SCENARIOS, 0).by_material


def invest_projects(chain, **_) -> pd.DataFrame:
    return _joined(chain.invest.pipeline(), "stages", "not_evaluable")


def invest_benchmarks(chain, **_) -> pd.DataFrame:
    from minsec.web.invest import benchmark_shares

    return benchmark_shares(chain)


def routes(chain, importer=None, **_) -> pd.DataFrame:
    return chain.risk.routes(importer=importer or "EU27", year="latest")


def import_reliance(chain, importer=None, **_) -> pd.DataFrame:
    return chain.risk.import_reliance(importer=importer or "EU27", year="all", source="wmd")


def us_imports(chain, **_) -> pd.DataFrame:
    table = chain.risk.us_exposure()
    return table.assign(partner_shares=table["partner_shares"].map(
        lambda shares: "; ".join(f"{k} {v:.4f}" for k, v in shares.items()) if isinstance(shares, dict) else ""))


def calibration(chain, **_) -> pd.DataFrame:
    return chain.scenarios.calibration_check()


def parameters(chain, **_) -> pd.DataFrame:
    return chain.scenarios.parameters()


def price_series(chain, **_) -> pd.DataFrame:
    return chain.markets.price_series()


def sources(chain, **_) -> pd.DataFrame:
    return _joined(chain.sources(), "known_gaps")


def rules_policies(chain, **_) -> pd.DataFrame:
    return chain.rules.policies()


def rules_consumption(chain, **_) -> pd.DataFrame:
    return chain.rules.consumption("eu_crma")


def commitments_register(chain, **_) -> pd.DataFrame:
    from minsec.web.commitments import register_rows

    return register_rows()


def commitments_breaches(chain, **_) -> pd.DataFrame:
    return _joined(chain.rules.commitments(date=dt.date.today()).table, "materials", "affected_parties")


def commitments_reports(chain, database=None, **_) -> pd.DataFrame:
    from minsec.service.sharing import stock_reporting

    return stock_reporting(database, chain.rules.commitments(date=dt.date.today()), chain.groups)


TABLES: dict[str, Callable[..., pd.DataFrame]] = {
    "concentration": concentration, "geopolrisk": geopolrisk, "research-programmes": research_programmes,
    "research-gaps": research_gaps, "economic-ranking": economic_ranking, "economic-impact": economic_impact,
    "invest-projects": invest_projects, "invest-benchmarks": invest_benchmarks,
    "commitments-register": commitments_register, "commitments-breaches": commitments_breaches,
    "commitments-reports": commitments_reports, "rules-policies": rules_policies,
    "rules-consumption": rules_consumption, "routes": routes,
    "import-reliance": import_reliance, "us-imports": us_imports, "calibration": calibration,
    "parameters": parameters, "price-series": price_series, "sources": sources}
