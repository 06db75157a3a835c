"""Concentration on MCS 2026, the primary source: hand-checked rows, and every material's leading share
recomputed from the publisher's own rows.

The hand-checked figures are the raw CSV's (usgs_mcs2026_commodities_data.csv, cp1252), quoted per case; the
comparison with published shares (USGS MCS 2026 text, IEA Global Critical Minerals Outlook 2025) is in
docs/data.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minsec.data import countries
from minsec.data.loaders import mcs2026

RAW = Path(__file__).resolve().parents[1] / "data" / "raw"


@pytest.fixture(scope="module")
def latest(chain) -> pd.DataFrame:
    return chain.risk.concentration(year=2025).set_index(["material", "stage"])


# (material, stage, leading economy, its 2025 figure, world total 2025) — MCS 2026, "World … Production"
HAND_CHECKED = [
    # "RARE EARTHS,World Mine Production and Reserves,…,China,Production,Mine production,metric tons,2025,270,000"
    # and "…,World total,Production,Mine production: rounded,metric tons,2025,390,000"
    ("rare_earths", "mining", "CHN", 270_000, 390_000),
    # "COBALT,…,Congo (Kinshasa),Production,Mine production,metric tons,2025,230,000"; world 310,000
    ("cobalt", "mining", "COD", 230_000, 310_000),
    # "GRAPHITE (NATURAL),…,China,…,2025,1,400,000"; world 1,800,000
    ("graphite", "mining", "CHN", 1_400_000, 1_800_000),
    # "LITHIUM,…,Australia,…,2025,92,000"; world 290,000 (Li content)
    ("lithium", "mining", "AUS", 92_000, 290_000),
    # "TUNGSTEN,…,China,…,2025,67,000"; world 85,000
    ("tungsten", "mining", "CHN", 67_000, 85_000),
    # "NICKEL,…,Indonesia,…,2025,2,600,000"; world 3,900,000
    ("nickel", "mining", "IDN", 2_600_000, 3_900_000),
    # "PLATINUM-GROUP METALS,…,South Africa,Production,Mine production: Platinum,kilograms,2025,120,000";
    # world 170,000 kg
    ("platinum", "mining", "ZAF", 120, 170),
]


@pytest.mark.parametrize(("material", "stage", "leader", "value", "world"), HAND_CHECKED)
def test_hand_checked_leading_share(latest, material, stage, leader, value, world):
    row = latest.loc[(material, stage)]
    assert row["source"] == "usgs" and row["top_country"] == leader
    assert row["world_total"] == pytest.approx(world)
    assert row["top_share"] == pytest.approx(value / world, rel=1e-9)
    assert 0.0 <= row["hhi"] <= 1.0


def test_gallium_shares_never_exceed_the_named_producers(latest):
    # "GALLIUM,World Low-Purity Production…,China,Production,Primary production,kilograms,2025,900,000" and the
    # world total (rounded) 900,000 kg, while Russia and Japan add a few tonnes: the denominator is the named
    # producers' sum, so China is 99.0 % (USGS Table 7 prints 100 %), never an HHI above 1
    row = latest.loc[("gallium", "refining")]
    assert row["top_country"] == "CHN"
    assert 0.98 < row["top_share"] < 1.0
    assert row["hhi"] <= 1.0 and row["unallocated_share"] == pytest.approx(0.0, abs=1e-12)


def _publisher_rows() -> pd.DataFrame:
    raw = mcs2026.load_corrected(RAW)
    frames = []
    for spec in mcs2026.series_catalogue().itertuples():
        if spec.measure != "production" or spec.combine:
            continue   # summed series (ilmenite + rutile) are checked by the loader's own tests
        rows = mcs2026.select_series(raw, spec)
        rows = rows[(rows["year"] == 2025) & rows["value"].notna()]
        if len(rows):
            frames.append(rows.assign(material=spec.material, stage=spec.stage))
    return pd.concat(frames, ignore_index=True)


def test_every_material_leading_share_matches_the_publishers_rows(chain, latest):
    rows = _publisher_rows()
    checked = 0
    for (material, stage), group in rows.groupby(["material", "stage"]):
        world = group.loc[group["country"] == countries.WORLD, "value"]
        economies = group[group["country"].map(countries.is_economy)]
        if world.empty or economies.empty or (material, stage) not in latest.index:
            continue
        row = latest.loc[(material, stage)]
        if np.isnan(row["top_share"]):
            continue
        denominator = max(float(world.iloc[0]), float(economies["value"].sum()))
        leader = economies.loc[economies["value"].idxmax()]
        assert row["top_country"] == leader["country"], (material, stage)
        assert row["top_share"] == pytest.approx(leader["value"] / denominator, rel=1e-9), (material, stage)
        checked += 1
    assert checked >= 45
    assert (latest["hhi"].dropna() <= 1.0 + 1e-12).all()


def test_leading_shares_beside_the_published_ones(chain, latest):
    """MCS 2026 Table 7 publishes each critical mineral's leading producer and its world share (2025): minsec's
    own figure agrees within 2 points or is flagged with why."""
    leaders = chain.published_leaders.set_index("material")
    # "Boron,…,Turkey,1500000,W,W,": withheld, so missing — never a 0 % share
    assert np.isnan(leaders.loc["boron", "leading_share"]) and "share published as 'W'" in leaders.loc["boron", "note"]
    # "Cobalt,…,Congo (Kinshasa),230000,74,310000,"
    assert (leaders.loc["cobalt", "leading_country"], leaders.loc["cobalt", "leading_share"]) == ("COD", 0.74)
    compared = latest[latest["published_top_share"].notna() & latest["top_share"].notna()]
    assert len(compared) >= 35
    agree = compared["differs_from_published"] == False  # noqa: E712 - a nullable boolean column
    assert agree.sum() >= 32
    flagged = compared[compared["differs_from_published"] == True]  # noqa: E712
    assert (flagged["difference_note"].str.contains("vs USGS")).all()
    # bismuth: China 14,000 t of a rounded 16,000 t world total = 88 % for USGS; the named producers add up to
    # more than 16,000 t, so minsec's share is lower — flagged, with the reason
    bismuth = latest.loc[("bismuth", "refining")]
    assert bismuth["differs_from_published"] and "rounded world total" in bismuth["difference_note"]
    assert not latest.loc[("gallium", "refining"), "differs_from_published"]     # 99.0 % vs 100 %
    assert latest.loc[("rare_earths", "mining"), "published_top_share"] == pytest.approx(0.69)
