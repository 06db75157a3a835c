"""USGS MCS 2026 industry-trend Table 7 (critical minerals' salient figures): the published leading producer
of each critical mineral and its share of world production, 2025 estimates — the figure minsec's own
concentration is compared with (``risk concentration``: ``published_top_share``, ``differs_from_published``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import countries
from minsec.data.errors import DataFormatError, read_text_table
from minsec.data.loaders.mcs2026 import parse_value

T7_FILE = "industry_trends/MCS2026_T7_Critical_Minerals_Salient.csv"
T7_COLUMNS = ["Source", "Year", "Units", "Critical_mineral", "Leading_source_country", "Leading_country_prod",
              "Leading_source_precent_world", "World_total_prod", "World_prod_notes"]
#: Table 7's names → (material, stage) of minsec's series with the same tonnes (MCS 2026 world tables)
T7_MATERIALS = {
    "Aluminum (bauxite)": ("bauxite", "mining"), "Antimony": ("antimony", "mining"),
    "Arsenic": ("arsenic", "refining"), "Barite": ("barite", "mining"), "Beryllium": ("beryllium", "mining"),
    "Bismuth": ("bismuth", "refining"), "Boron": ("boron", "mining"), "Chromium": ("chromium", "mining"),
    "Cobalt": ("cobalt", "mining"), "Copper": ("copper", "mining"), "Fluorspar": ("fluorspar", "mining"),
    "Gallium": ("gallium", "refining"), "Germanium": ("germanium", "refining"),
    "Graphite (natural)": ("graphite", "mining"), "Indium": ("indium", "refining"), "Lead": ("lead", "mining"),
    "Lithium": ("lithium", "mining"), "Magnesium": ("magnesium", "refining"), "Manganese": ("manganese", "mining"),
    "Nickel": ("nickel", "mining"), "Niobium": ("niobium", "mining"), "Palladium": ("palladium", "mining"),
    "Phosphate rock": ("phosphate_rock", "mining"), "Platinum": ("platinum", "mining"),
    "Potash": ("potash", "mining"), "Rare earths (compounds and metals)": ("rare_earths", "mining"),
    "Rhenium": ("rhenium", "mining"), "Scandium": ("scandium", "refining"), "Silicon": ("silicon", "refining"),
    "Silver": ("silver", "mining"), "Tantalum": ("tantalum", "mining"), "Tellurium": ("tellurium", "refining"),
    "Tin": ("tin", "mining"), "Titanium (metal)": ("titanium", "refining"), "Tungsten": ("tungsten", "mining"),
    "Vanadium": ("vanadium", "mining"), "Yttrium": ("yttrium", "mining"), "Zinc": ("zinc", "mining"),
    "Zirconium (ores and concentrates)": ("zirconium", "mining"),
}


def _number(text: str, path: Path, row: int, column: str) -> float:
    """A Table 7 cell through MCS 2026's own value grammar (:func:`minsec.data.loaders.mcs2026.parse_value`):
    W (withheld) and NA are missing, never 0; text it does not know is an error naming the cell."""
    try:
        return parse_value(text, path=path, row=row).value
    except DataFormatError:
        raise DataFormatError(path, f"unrecognised value {text!r}", row=row, column=column) from None


def read_published_leaders(path: str | Path) -> pd.DataFrame:
    """Table 7 as ``release, material, stage, year, leading_country, leading_share, leading_value_t,
    world_total_t, note``: shares 0–1, missing where USGS gives W or NA (with the published text in ``note``)."""
    path = Path(path)
    raw = read_text_table(path, T7_COLUMNS, encoding="utf-8-sig")
    rows = []
    for number, item in enumerate(raw.to_dict(orient="records"), start=2):
        name = countries.clean_usgs_name(item["Critical_mineral"].strip())
        if name not in T7_MATERIALS:
            raise DataFormatError(path, f"critical mineral {item['Critical_mineral']!r} has no minsec series",
                                  row=number, column="Critical_mineral")
        if item["Units"].strip() != "metric tons":
            raise DataFormatError(path, f"unit {item['Units']!r}: expected metric tons", row=number, column="Units")
        material, stage = T7_MATERIALS[name]
        cells = {"share": "Leading_source_precent_world", "leader": "Leading_country_prod", "world": "World_total_prod"}
        value = {k: _number(item[c], path, number, c) for k, c in cells.items()}
        missing = [k for k in ("share", "world") if np.isnan(value[k])]
        published = {"share": item["Leading_source_precent_world"], "world": item["World_total_prod"]}
        note = "; ".join(f"{k} published as {published[k]!r}" for k in missing)
        rows.append({"release": "MCS2026", "material": material, "stage": stage,
                     "year": int(item["Year"][:4]), "leading_country": countries.iso3_from_name(
                         countries.clean_usgs_name(item["Leading_source_country"])),
                     "leading_share": value["share"] / 100.0, "leading_value_t": value["leader"],
                     "world_total_t": value["world"],
                     "note": " | ".join(n for n in (note, item["World_prod_notes"].strip()) if n)})
    return pd.DataFrame(rows)
