"""Write the GeoPolRisk values that the peer package geopolrisk-py 2.0.1 computes, as a test fixture.

Run with the benchmark environment (the peer pins pandas <= 2.3.3, so it is not in ``.venv``)::

    python3 -c "import make; make.ensure_environment('bench', '.venv-bench')"   # once: .venv-bench
    .venv-bench/bin/python tools/make_geopolrisk_peer_fixture.py

Writes ``tests/fixtures/geopolrisk_peer/peer_geopolrisk_2020_2022.csv``: one row per importer × year ×
commodity for the importers in :data:`IMPORTERS`, the years 2020–2022 and every commodity the peer can
compute (``utils.default_rmlist()``, the 53 rows of its "HS Code Map" that have an HS code).

The scores are the peer's own output: :func:`geopolrisk.assessment.main.gprs_calc` (Koyamparambath et al.
2024, JOSS doi:10.21105/joss.09600) writes them to its SQLite table ``recordData`` in
``~/Documents/geopolrisk/output/Datarecords.db``, and that table is read back here — nothing is recomputed.
``gprs_calc`` does not output its intermediates (Σ q·PS, Σ q, domestic production), so they are taken from
the peer's own functions it calls for each result (``utils.aggregateTrade`` and ``core.HHI``, the same
arguments), and the script checks that ``core.GeoPolRisk`` on them reproduces the recorded score exactly.
HOME is pointed at a temporary directory first: the peer writes logs and outputs under ``~/Documents``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "tests" / "fixtures" / "geopolrisk_peer" / "peer_geopolrisk_2020_2022.csv"
YEARS = [2020, 2021, 2022]
# peer's importer name → the id minsec uses (ISO3; the peer's "EU" region is minsec's EU27 group)
IMPORTERS = {"USA": "USA", "Japan": "JPN", "Rep. of Korea": "KOR", "Germany": "DEU", "Canada": "CAN",
             "EU": "EU27"}
RECORD_COLUMNS = {
    "DBID": "peer_dbid", "Country [Economic Entity]": "importer", "Raw Material": "commodity", "Year": "year",
    "GeoPolRisk Score": "geopolrisk_score",
    "GeoPolRisk Characterization Factor [eq. Kg-Cu/Kg]": "characterization_factor_kg_cu_eq_per_kg",
    "HHI": "hhi", "Import Risk": "import_risk", "Price": "price_usd_per_kg",
}


def run_peer(commodities: list[str]):
    """``gprs_calc`` over every year × importer × commodity; returns its ``recordData`` table.

    ``gprs_calc`` stops its loop at the first failing case (``break``), so a commodity it did not record is
    retried alone and reported."""
    import pandas as pd
    from geopolrisk.assessment import main
    from geopolrisk.assessment.database import databases

    db_path = Path(databases.directory) / "output" / databases.Output
    main.gprs_calc(YEARS, list(IMPORTERS), commodities)
    records = pd.read_sql_query("SELECT * FROM recordData", sqlite3.connect(db_path))
    missing = sorted(set(commodities) - set(records["Raw Material"]))
    for commodity in missing:
        print(f"gprs_calc recorded nothing for {commodity!r} in the full run; running it alone", flush=True)
        main.gprs_calc(YEARS, list(IMPORTERS), [commodity])
    if missing:
        records = pd.read_sql_query("SELECT * FROM recordData", sqlite3.connect(db_path))
    return records


def intermediates(records):
    """Σ q·PS, Σ q and domestic production from the peer's functions, per recorded result; asserts that
    ``core.GeoPolRisk`` on them gives the recorded score, CF and import risk bit for bit."""
    import pandas as pd
    from geopolrisk.assessment import core, utils
    from geopolrisk.assessment.database import databases

    data = utils.mapped_baci()
    hs_map = utils.Mapping()
    table = databases.production["HS Code Map"].set_index("Reference ID")
    rows = []
    for record in records.rename(columns=RECORD_COLUMNS).itertuples(index=False):
        name, commodity, year = record.importer, record.commodity, int(record.year)
        members = databases.regionslist[name]
        numerator, total_trade, price = utils.aggregateTrade(year, members, commodity, data)
        production = [core.HHI(commodity, year, utils.cvtcountry(m, type="Name")) for m in members]
        domestic = sum(p[0] for p in production)
        hhi = production[-1][1]
        score, cf, ir = core.GeoPolRisk(numerator, total_trade, price, domestic, hhi)
        pairs = ((score, record.geopolrisk_score), (cf, record.characterization_factor_kg_cu_eq_per_kg),
                 (ir, record.import_risk), (price, record.price_usd_per_kg), (hhi, record.hhi))
        differ = [(a, b) for a, b in pairs if not (a == b or (a != a and b != b))]   # NaN == NaN here
        if differ:
            raise SystemExit(f"peer functions do not reproduce gprs_calc for {name} {commodity} {year}: {differ}")
        sheet = table.loc[commodity, "Sheet_name"]
        unit = databases.production[sheet]["unit"].tolist()[0]
        members_iso = sorted(int(utils.cvtcountry(m, type="ISO")) for m in members)
        rows.append({"peer_dbid": record.peer_dbid, "weighted_imports_t": numerator, "total_imports_t": total_trade,
                     "domestic_production": domestic, "wmd_sheet": sheet, "wmd_unit": unit,
                     "stage": table.loc[commodity, "Supply Chain Stage"],
                     "hs_codes": ";".join(str(c) for c in sorted(hs_map[commodity])),
                     "members_baci_codes": ";".join(map(str, members_iso))})
    return pd.DataFrame(rows)


def main() -> int:
    os.environ["HOME"] = tempfile.mkdtemp(prefix="gpr-home-")
    import importlib.metadata

    from geopolrisk.assessment import utils

    version = importlib.metadata.version("geopolrisk-py")
    if version != "2.0.1":
        print(f"warning: geopolrisk-py {version} installed, the fixture documents 2.0.1", file=sys.stderr)
    commodities = utils.default_rmlist()
    records = run_peer(commodities)
    extra = intermediates(records)
    table = records.rename(columns=RECORD_COLUMNS).merge(extra, on="peer_dbid", how="left", validate="1:1")
    table.insert(1, "importer_iso3", table["importer"].map(IMPORTERS))
    columns = ["importer", "importer_iso3", "year", "commodity", "wmd_sheet", "stage", "hs_codes", "hhi",
               "import_risk", "geopolrisk_score", "characterization_factor_kg_cu_eq_per_kg", "price_usd_per_kg",
               "weighted_imports_t", "total_imports_t", "domestic_production", "wmd_unit", "members_baci_codes",
               "peer_dbid"]
    table = table[columns].sort_values(["importer_iso3", "commodity", "year"]).reset_index(drop=True)
    expected = len(IMPORTERS) * len(YEARS) * len(commodities)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUTPUT, index=False, lineterminator="\n")
    print(f"geopolrisk-py {version}, {date.today()}: {len(table)} of {expected} results "
          f"({len(commodities)} commodities) → {OUTPUT.relative_to(ROOT)}")
    return 0 if len(table) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
