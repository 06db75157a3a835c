"""Rare earths element by element: mine output by element, and the separation, metal and magnet stages.

No open table gives rare earths by element and country, so this module derives them at build time, every
step an explicit, sourced assumption (the inputs are ``data/raw/rare_earth_chain/``, their sources in its
PROVENANCE.md and the sourced-facts table):

**Mining** (element content of mine output, t of oxide):
``q[c, e, y] = REO[c, y] × Σ_d mix[c, d, y] · x[d, e]`` where ``REO`` is USGS mine production (MCS 2026 for
2024–2025, MCS 2024 for 2023), ``mix[c, d, y]`` the share of country *c*'s output from deposit (type) *d*
(``deposit_mix.csv``: China by its mining quotas, Myanmar ion-adsorption clays, USA Mountain Pass, …) and
``x[d, e]`` the share of element *e* in the deposit's REO (USGS Minerals Yearbook 2022, Rare Earths, Table 2).
A deposit's shares are scaled down to 100 % where USGS's add up to more (Xunwu 103.5 %); where they add up to
less, or an element is "NA" for the deposit, that part of the REO is *not attributed* (no element gets it:
missing is never zero; a country's figure that misses a deposit's NA part is flagged ``lower_bound``), so
``Σ_e q[c, e, y] + not_attributed[c, y] = REO[c, y]`` — the mass balance
``tests/test_rare_earth_chain.py`` asserts.  The ion-adsorption clays of south China and Myanmar use the mean
of T2's three laterite profiles (Xunwu, Xinfeng, Longnan; an element's mean over the profiles that report it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries
from minsec.data.errors import DataFormatError
from minsec.data.loaders import usgs_rare_earths
from minsec.data.loaders.parameters import point_value

SOURCE = "minsec"
RELEASE = "REE-chain-2026"
MINING_BASIS = "oxide (REO basis), element content of mine output"
ION_ADSORPTION = "ion_adsorption_composite"
#: the south-China "rare-earth laterite" (ion-adsorption clay) profiles of MYB 2022 Table 2
LATERITES = ("xunwu", "xinfeng", "longnan")
T2_FILE = "usgs_rare_earths/usgs_myb2022_rare_earths_tables.xlsx"
MIX_FILE = "rare_earth_chain/deposit_mix.csv"
ELEMENTS = tuple(usgs_rare_earths.ELEMENTS.values())


def element_profiles(distribution: pd.DataFrame) -> pd.DataFrame:
    """deposit × element share of REO (0–1; NaN where USGS has no number), with the ion-adsorption composite
    row, each deposit scaled down to sum 1 where its published shares exceed 100 %."""
    shares = distribution.pivot_table(index="deposit_id", columns="element", values="share", aggfunc="first")
    shares = shares.reindex(columns=list(ELEMENTS))
    # an element's mean over the laterite profiles that report it; the composite is then normalised like a deposit
    shares.loc[ION_ADSORPTION] = shares.loc[list(LATERITES)].mean(axis=0, skipna=True)
    total = shares.sum(axis=1, skipna=True)
    return shares.div(np.maximum(total, 1.0), axis=0)


def read_deposit_mix(path: Path) -> pd.DataFrame:
    """``deposit_mix.csv``: country (ISO3), year, deposit, share_of_reo, basis, facts, confidence; a country-year's
    shares must add up to 1 (within 1e-4) and name deposits of Table 2 (or the composite)."""
    try:
        mix = pd.read_csv(path, dtype={"country": str, "deposit": str, "facts": str}, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    mix["share_of_reo"] = pd.to_numeric(mix["share_of_reo"], errors="coerce")
    bad = mix["share_of_reo"].isna() | (mix["share_of_reo"] < 0) | (mix["share_of_reo"] > 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(path, "share_of_reo must be a number in [0, 1]", row=row + 2, column="share_of_reo")
    sums = mix.groupby(["country", "year"])["share_of_reo"].sum()
    off = sums[(sums - 1).abs() > 1e-4]
    if len(off):
        (country, year), total = next(iter(off.items()))
        raise DataFormatError(path, f"{country} {year}: deposit shares add up to {total:.4f}, not 1",
                              column="share_of_reo")
    return mix


def _reo_mine_output(production: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """USGS rare-earth mine production (t REO) per economy and year, each year from the latest release."""
    rows = production[(production["source"] == "usgs") & (production["material"] == "rare_earths")
                      & (production["stage"] == "mining") & (production["measure"] == "production")
                      & production["year"].isin(years) & production["value"].notna()]
    rows = rows[rows["country"].map(countries.is_economy).astype(bool)]
    rows = rows.sort_values("release").drop_duplicates(["country", "year"], keep="last")  # MCS2026 > MCS2024
    return rows[["country", "year", "value", "release", "estimated"]]


def element_mining(production: pd.DataFrame, distribution: pd.DataFrame, mix: pd.DataFrame) -> pd.DataFrame:
    """Production-table rows of every element's mine output by country and year (module docstring), the world
    total ``WLD`` (Σ of the countries' known figures) and, per country, what is not attributed (``note``)."""
    profiles = element_profiles(distribution)
    unknown = set(mix["deposit"]) - set(profiles.index)
    if unknown:
        raise ValueError(f"deposit_mix.csv names deposits not in MYB 2022 Table 2: {sorted(unknown)}")
    reo = _reo_mine_output(production, sorted(mix["year"].unique()))
    out = []
    for row in reo.itertuples():
        parts = mix[(mix["country"] == row.country) & (mix["year"] == row.year)]
        if parts.empty:
            content = pd.Series(np.nan, index=list(ELEMENTS))
            partial = pd.Series(False, index=list(ELEMENTS))
            how = f"no deposit assignment for {row.country}: its {row.value:,.0f} t REO are not attributed"
        else:
            weights = profiles.loc[parts["deposit"]].mul(parts["share_of_reo"].to_numpy(), axis=0)
            content = weights.sum(axis=0, min_count=1)  # NaN only where no contributing deposit reports it
            partial = weights.isna().any(axis=0) & content.notna()
            how = "REO × " + " + ".join(f"{share:.3g} {deposit}" for deposit, share
                                          in zip(parts["deposit"], parts["share_of_reo"], strict=True))
        attributed = float(np.nansum(content.to_numpy())) * row.value
        note = (f"{how} (USGS {row.release} REO {row.value:,.0f} t; MYB 2022 T2); "
                f"not attributed to an element: {row.value - attributed:,.0f} t")
        for element, share in content.items():
            # an element USGS gives as NA for one of the country's deposits is a lower bound, never a silent 0
            flag = ("not_available" if not np.isfinite(share) else
                    "lower_bound" if not parts.empty and partial[element] else "derived")
            out.append({"material": element, "country": row.country, "year": int(row.year),
                        "value": row.value * share, "flag": flag,
                        "estimated": bool(row.estimated), "note": note})
    frame = pd.DataFrame(out)
    world = (frame.groupby(["material", "year"])["value"].sum(min_count=1).reset_index()
             .assign(country=countries.WORLD, flag="derived", estimated=True,
                     note="Σ of the countries' derived element content (REO not attributed is left out)"))
    frame = pd.concat([frame, world], ignore_index=True)
    return frame.assign(source=SOURCE, release=RELEASE, stage="mining", measure="production", unit="t",
                        basis=MINING_BASIS, value_reported=np.nan)


def chain_rows(raw_dir: str | Path, production: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Every stage's rows from the bundled raw copies (MYB 2022 T2, ``deposit_mix.csv``) and the sourced facts."""
    raw_dir = Path(raw_dir)
    distribution = usgs_rare_earths.read_deposit_distribution(raw_dir / T2_FILE)
    mining = element_mining(production, distribution, read_deposit_mix(raw_dir / MIX_FILE))
    return pd.concat([mining, stage_rows(mining, facts)], ignore_index=True)


# ------------------------------------------------------------------------ separation, metal and magnet stages
STAGE_YEAR = 2024  # the year the facts cover for every stage (company years, China's 2024 industry figures)
REFINING_BASIS = "separated oxide (t of oxide)"
METAL_BASIS = "metal (t of metal)"
MAGNET_BASIS = "NdFeB magnet (t of magnet, sintered and bonded)"
#: Lynas's calendar-2024 quarters (Jan–Mar … Oct–Dec 2024): total REO and NdPr (capacity.csv RS013–RS020)
LYNAS_2024_REO, LYNAS_2024_NDPR = ("RS013", "RS015", "RS017", "RS019"), ("RS014", "RS016", "RS018", "RS020")
#: China's share of rare-earth metal production (RS112, a 2025 statement, low confidence)
CHINA_METAL_SHARE_FACT = "RS112"
#: China's share of world NdFeB output (RM018, US DOE 2023) and its 2024 output (RM002, SMM)
CHINA_MAGNET_SHARE_FACT, CHINA_MAGNETS_FACT = "RM018", "RM002"
MAGNET_DY_FACTS = ("RS074", "RM102")  # China's Dy oxide output 2024 and the share of Dy that goes into NdFeB


def _fact(facts: pd.DataFrame, record: str) -> float:
    """A fact's value (a range's midpoint), from the sourced-facts table by record id."""
    row = facts.loc[facts["record_id"] == record]
    if row.empty:
        raise ValueError(f"the rare-earth chain needs sourced fact {record}, which is not in parameters/")
    value = point_value(row.iloc[0])
    if not np.isfinite(value):
        raise ValueError(f"sourced fact {record} has no number")
    return float(value)


def _row(material: str, stage: str, country: str, value: float, basis: str, flag: str, note: str) -> dict:
    return {"material": material, "stage": stage, "country": country, "year": STAGE_YEAR, "value": value,
            "basis": basis, "flag": flag, "estimated": True, "note": note}


def _nd_pr_split(mining: pd.DataFrame, country: str) -> float:
    """Nd's share of Nd + Pr in ``country``'s derived mine output of :data:`STAGE_YEAR` (its NdPr ratio)."""
    rows = mining[(mining["country"] == country) & (mining["year"] == STAGE_YEAR)].set_index("material")["value"]
    return float(rows["neodymium"] / (rows["neodymium"] + rows["praseodymium"]))


def separation_rows(mining: pd.DataFrame, facts: pd.DataFrame) -> list[dict]:
    """Separated oxide by element and country, 2024: the reported separators outside China (Lynas Malaysia, MP
    Materials: NdPr split by their ore's Nd : Pr; IREL's Nd), China's reported NdPr, Dy and Tb oxide output
    (RS070, RS074, RS072: primary and recycled feed) and, for the other elements, China as the remainder of the
    world's mine output of the element (no separator outside China reports them in 2024: Lynas sent its heavy
    concentrate to China until its first Dy/Tb oxide in 2025, RS024/RS025)."""
    out = []
    for country, records, note in (("MYS", LYNAS_2024_NDPR, "Lynas Malaysia NdPr, Q1–Q4 2024"),
                                   ("USA", ("RS031",), "MP Materials NdPr oxide 2024")):
        ndpr = sum(_fact(facts, r) for r in records)
        ore = "AUS" if country == "MYS" else "USA"
        nd = _nd_pr_split(mining, ore)
        for element, share in (("neodymium", nd), ("praseodymium", 1 - nd)):
            out.append(_row(element, "refining", country, ndpr * share, REFINING_BASIS, "derived",
                            f"{note} ({'+'.join(records)}) {ndpr:,.0f} t × {share:.3f} ({ore} ore Nd : Pr)"))
    # Lynas's other separated products are mostly La and Ce (its SEG heavy concentrate went to China in 2024)
    light = sum(_fact(facts, r) for r in LYNAS_2024_REO) - sum(_fact(facts, r) for r in LYNAS_2024_NDPR)
    profile = mining[(mining["country"] == "AUS") & (mining["year"] == STAGE_YEAR)].set_index("material")["value"]
    la = float(profile["lanthanum"] / (profile["lanthanum"] + profile["cerium"]))
    for element, share in (("lanthanum", la), ("cerium", 1 - la)):
        out.append(_row(element, "refining", "MYS", light * share, REFINING_BASIS, "derived",
                        f"Lynas Malaysia 2024 REO less NdPr ({light:,.0f} t; RS013–RS020) × {share:.3f} (Mount Weld "
                        "La : Ce); an assumption — the rest of its REO is not split by element"))
    out.append(_row("neodymium", "refining", "IND", _fact(facts, "RS053"), REFINING_BASIS, "reported",
                    "IREL neodymium 'last year' (RS053; product form not stated)"))
    china_ndpr = _fact(facts, "RS070")
    nd = _nd_pr_split(mining, "CHN")
    out += [_row("neodymium", "refining", "CHN", china_ndpr * nd, REFINING_BASIS, "derived",
                 f"China PrNd oxide 2024 (RS070) {china_ndpr:,.0f} t × {nd:.3f} (China's ore Nd : Pr)"),
            _row("praseodymium", "refining", "CHN", china_ndpr * (1 - nd), REFINING_BASIS, "derived",
                 f"China PrNd oxide 2024 (RS070) {china_ndpr:,.0f} t × {1 - nd:.3f}"),
            _row("dysprosium", "refining", "CHN", _fact(facts, "RS074"), REFINING_BASIS, "reported",
                 "China Dy oxide output 2024 (RS074, Argus; incl. 710 t from magnet scrap, RS077)"),
            _row("terbium", "refining", "CHN", _fact(facts, "RS072"), REFINING_BASIS, "reported",
                 "China Tb oxide output 2024 (RS072, Argus; incl. 160 t from magnet scrap, RS078)")]
    world = mining[(mining["country"] == countries.WORLD) & (mining["year"] == STAGE_YEAR)]
    for row in world.itertuples():
        if row.material in {"neodymium", "praseodymium", "dysprosium", "terbium"} or not np.isfinite(row.value):
            continue
        elsewhere = sum(r["value"] for r in out if r["material"] == row.material)
        out.append(_row(row.material, "refining", "CHN", max(row.value - elsewhere, 0.0), REFINING_BASIS,
                        "remainder", "world mine output of the element (derived) less the separators outside China "
                        "that report it for 2024 (Lynas La/Ce only)"))
    return out


def metal_rows(facts: pd.DataFrame, mining: pd.DataFrame) -> list[dict]:
    """Metal by element, 2024: China's reported NdPr metal (RS071, split by its ore Nd : Pr) and Tb metal
    (RS073); Dy metal as the Dy that NdFeB takes (China's Dy oxide × the magnet share, RM102, in metal) at
    China's share; the rest of the world (``OTH``) from China's share of metal making (RS112, low confidence)."""
    share = _fact(facts, CHINA_METAL_SHARE_FACT) / 100
    dy_oxide, to_magnets = _fact(facts, MAGNET_DY_FACTS[0]), _fact(facts, MAGNET_DY_FACTS[1]) / 100
    ndpr = _fact(facts, "RS071")
    nd = _nd_pr_split(mining, "CHN")
    links = catalogue.chain_links().set_index(["downstream", "upstream"])["input_t_per_t"]
    dy_oxide_per_metal = float(links[("dysprosium.metal", "dysprosium.refining")])   # Dy2O3 / 2 Dy
    china = {"neodymium": (ndpr * nd, "reported", f"China PrNd metal 2024 (RS071) {ndpr:,.0f} t × {nd:.3f}"),
             "praseodymium": (ndpr * (1 - nd), "reported", f"China PrNd metal 2024 (RS071) × {1 - nd:.3f}"),
             "terbium": (_fact(facts, "RS073"), "reported", "China Tb metal 2024 (RS073, Argus)"),
             "dysprosium": (dy_oxide * to_magnets / dy_oxide_per_metal * share, "derived",
                            f"Dy for NdFeB: China Dy oxide (RS074) × {to_magnets:.2f} (RM102) / "
                            f"{dy_oxide_per_metal:g} × China's "
                            f"{share:.0%} of metal (RS112)")}
    out = []
    for element, (value, flag, note) in china.items():
        world = value / share
        out += [_row(element, "metal", "CHN", value, METAL_BASIS, flag, note),
                _row(element, "metal", "OTH", world - value, METAL_BASIS, "remainder",
                     f"outside China: China's output / {share:.2f} (RS112: China ~{share:.0%} of RE metals) − China"),
                _row(element, "metal", countries.WORLD, world, METAL_BASIS, "derived",
                     f"China's output / {share:.2f} (RS112)")]
    return out


def magnet_rows(facts: pd.DataFrame) -> list[dict]:
    """NdFeB output by country, 2024: China 260 kt (RM002) at ~90 % of the world (RM018), Vietnam (Shin-Etsu,
    2,200 t/yr, RM039) and Korea (Star Group, 3,000 t, RM020) as reported, Japan the remainder (8.2 %, inside
    Argus's "less than 9 %", RM024); US and EU output (a few hundred t to 2024) are not separated from it."""
    china = _fact(facts, CHINA_MAGNETS_FACT)
    world = china / (_fact(facts, CHINA_MAGNET_SHARE_FACT) / 100)
    vietnam, korea = _fact(facts, "RM039"), _fact(facts, "RM020")
    japan = world - china - vietnam - korea
    return [_row("ndfeb_magnets", "manufacturing", "CHN", china, MAGNET_BASIS, "reported", "China 2024 (RM002, SMM)"),
            _row("ndfeb_magnets", "manufacturing", "VNM", vietnam, MAGNET_BASIS, "capacity",
                 "Shin-Etsu Hai Phong capacity after its 2018 expansion (RM039), taken as output"),
            _row("ndfeb_magnets", "manufacturing", "KOR", korea, MAGNET_BASIS, "reported",
                 "Star Group output 2023 (RM020; its plants in Korea and China)"),
            _row("ndfeb_magnets", "manufacturing", "JPN", japan, MAGNET_BASIS, "remainder",
                 f"world − China − Vietnam − Korea = {japan / world:.1%} of the world (RM024: Japan < 9 %)"),
            _row("ndfeb_magnets", "manufacturing", countries.WORLD, world, MAGNET_BASIS, "derived",
                 f"China / {_fact(facts, CHINA_MAGNET_SHARE_FACT) / 100:.2f} (RM018, US DOE: China ~90 %)")]


def stage_rows(mining: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Production-table rows of the refining (separated oxide), metal and manufacturing (NdFeB) stages."""
    rows = pd.DataFrame(separation_rows(mining, facts) + metal_rows(facts, mining) + magnet_rows(facts))
    refining = rows[rows["stage"] == "refining"]
    world = (refining.groupby("material")["value"].sum().reset_index()
             .assign(stage="refining", country=countries.WORLD, year=STAGE_YEAR, basis=REFINING_BASIS,
                     flag="derived", estimated=True, note="Σ of the countries"))
    rows = pd.concat([rows, world], ignore_index=True)
    return rows.assign(source=SOURCE, release=RELEASE, measure="production", unit="t", value_reported=np.nan)
