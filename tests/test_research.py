"""The research pillar: the registry of public R&D programmes (sourced, validated, in US dollars) and the gaps
between research effort and risk (hand-computed cases and the shipped registry)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import minsec
from minsec.cli import app
from minsec.research.gaps import research_gaps, with_product_losses
from minsec.research.registry import RegistryError, bundled_path, programme_funding, read_programmes

RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "research" / "programmes.csv"


@pytest.fixture(scope="module")
def sc():
    return minsec.load()


def test_registry_holds_sixty_real_programmes_with_sources(sc):
    table = sc.research.programmes()
    assert table["programme"].nunique() >= 60 and len(table) >= 100
    assert (table["source_url"].str.startswith("http")).all() and (table["source_title"] != "").all()
    assert {"USA", "EU27", "JPN", "KOR", "CAN", "AUS", "GBR"} <= set(table["partner"])
    assert bundled_path().read_bytes() == RAW.read_bytes()        # the shipped copy is the raw file
    # budgets: as published, and in USD at the Fed's 2023 annual averages (FX001: 1.0817 USD per EUR)
    eur = table[(table["currency"] == "EUR") & table["budget"].notna()].iloc[0]
    assert eur["budget_usd"] == pytest.approx(eur["budget"] * 1.0817)
    assert table.loc[table["budget"].isna(), "budget_usd"].isna().all()     # not stated: null, never 0


def test_registry_errors_name_the_row_and_column(tmp_path):
    rows = pd.read_csv(RAW, dtype=str, keep_default_na=False).head(3)
    rows.loc[1, "materials"] = "unobtainium"
    bad = tmp_path / "bad.csv"
    rows.to_csv(bad, index=False)
    with pytest.raises(RegistryError, match=r"bad.csv, row 3, column 'materials'"):
        read_programmes(bad)
    rows = pd.read_csv(RAW, dtype=str, keep_default_na=False).head(2)
    rows.loc[0, "budget"] = "lots"
    rows.to_csv(bad, index=False)
    with pytest.raises(RegistryError, match=r"row 2, column 'budget'"):
        read_programmes(bad)


def small_registry() -> pd.DataFrame:
    """Two partners research gallium refining (one twice: a programme and its project), one Dy separation."""
    return pd.DataFrame({
        "programme": ["P1", "P1", "P2", "P3", "P4"], "partner": ["USA", "USA", "EU27", "JPN", "USA"],
        "materials": [["gallium"], ["gallium"], ["gallium", "germanium"], ["dysprosium"], ["critical_minerals"]],
        "stages": [["refining"], ["refining"], ["refining"], ["separation"], ["recycling"]],
        "budget_usd": [10e6, 4e6, 20e6, np.nan, 50e6]})


def test_a_programme_counts_once_at_its_largest_budget():
    funding = programme_funding(small_registry()).set_index("programme")
    assert funding.loc["P1", "budget_usd"] == 10e6 and funding.loc["P1", "rows"] == 2


def test_research_gaps_by_hand():
    losses = pd.DataFrame({"material": ["gallium", "dysprosium", "germanium"],
                           "expected_gdp_loss_usd": [100e6, 50e6, 10e6]})
    concentration = pd.DataFrame({
        "material": ["gallium", "dysprosium", "dysprosium", "germanium"],
        "stage": ["refining", "refining", "mining", "refining"], "year": [2025, 2025, 2025, 2025],
        "top_country": ["CHN", "CHN", "CHN", "CHN"], "top_share": [0.99, 1.0, 0.5, 0.9]})
    table = research_gaps(small_registry(), losses, concentration).set_index(["material", "stage"])
    ga = table.loc[("gallium", "refining")]
    # P1 (10 M$, one pair) + P2 (20 M$ over gallium and germanium refining: 10 M$ each) = 20 M$, two partners
    assert ga["research_usd"] == pytest.approx(20e6) and ga["programmes"] == 2 and ga["overlap"]
    assert ga["attention_per_research_usd"] == pytest.approx(100e6 * 0.99 / 20e6)
    dy = table.loc[("dysprosium", "separation")]
    # one programme without a budget: effort floored at 1 M$, so 50 M$ × 1.0 / 1 M$ = 50
    assert dy["programmes"] == 1 and dy["programmes_without_budget"] == 1
    assert dy["attention_per_research_usd"] == pytest.approx(50.0)
    assert table.loc[("dysprosium", "exploration"), "top_share"] == 0.5
    assert table.attrs["general_programmes"] == 1            # P4 is not spread over materials
    assert table["gap_rank"].is_monotonic_increasing


def test_magnet_losses_reach_the_elements_they_need():
    losses = pd.DataFrame({"material": ["ndfeb_magnets", "dysprosium", "praseodymium"],
                           "expected_gdp_loss_usd": [1_000.0, 10.0, np.nan]})
    out = with_product_losses(losses).set_index("material")["expected_gdp_loss_usd"]
    assert out["dysprosium"] == pytest.approx(10 + 0.7 * 1_000)       # chain_links weight 0.7
    assert np.isnan(out["praseodymium"])                               # missing stays missing


def test_shipped_gaps_rank_heavy_rare_earths_and_name_overlaps(sc):
    table = sc.research.gaps(n=1_000, seed=0)
    assert len(table) > 100 and table["gap_rank"].tolist() == list(range(1, len(table) + 1))
    terbium = table[(table["material"] == "terbium") & (table["stage"] == "separation")].iloc[0]
    assert terbium["top_share"] == pytest.approx(1.0) and terbium["programmes"] >= 1
    assert table["overlap"].any()


def test_cli_research_list_and_bad_stage():
    runner = CliRunner()
    listed = runner.invoke(app, ["research", "list", "--material", "dysprosium", "-f", "json"])
    assert listed.exit_code == 0
    rows = json.loads(listed.stdout)
    assert rows and all("dysprosium" in r["materials"] or "critical_minerals" in r["materials"] for r in rows)
    bad = runner.invoke(app, ["research", "list", "--stage", "mining"])
    assert bad.exit_code == 2 and "--stage" in bad.output
    nobody = runner.invoke(app, ["research", "list", "--partner", "zz", "-f", "json"])
    assert nobody.exit_code == 2 and "--partner" in nobody.output and "EU27" in nobody.output
