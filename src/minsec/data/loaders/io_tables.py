"""Input-output tables in their publishers' layouts → one long table for the economic-cost model.

* US: BEA summary Use of commodities by industry 2024 (71 industries; domestic and imported uses, $ million,
  producer prices, before redefinitions — the extracts of BEA's 2024 summary xlsx in ``bea_summary_2024/``) and
  industry output 2024.
* Everyone else: the World Input-Output Database, 2013 release, 2011 (Timmer et al. 2015): intermediate flows
  ``Z`` (41 regions × 35 industries, $ million) and gross output, aggregated to the regions of the default
  country groups (EU27 = the 26 member states WIOD covers; Croatia is in its RoW).

Rows: ``region, year, source, table, row, column, value`` with ``table`` one of

* ``use`` — intermediate use of industry ``row``'s product by industry ``column`` in the region, every origin;
* ``use_domestic`` — the part produced inside the region;
* ``output`` — gross output of industry ``row`` (``column`` empty);
* ``wiod_output`` — WIOD gross output of every region (the USA too) and of the world (``WLD``), for shares of
  world output on one classification.

Value added is output − intermediate use (WIOD carries no value-added rows: the difference also holds net taxes
on products and international transport margins, PROVENANCE.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data.errors import DataFormatError

BEA_DIR, WIOD_DIR = "bea_summary_2024", "wiod_2013"
BEA_YEAR, WIOD_YEAR = 2024, 2011
#: BEA commodity rows that are not industries (scrap, used goods, other) and are left out of the square table
BEA_NON_INDUSTRY = ("Used", "Other")


def _read(path: Path, **options) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **options)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None


def _long(matrix: pd.DataFrame, region: str, year: int, source: str, table: str) -> pd.DataFrame:
    stacked = matrix.stack()
    stacked = stacked[stacked != 0]
    return pd.DataFrame({"region": region, "year": year, "source": source, "table": table,
                         "row": stacked.index.get_level_values(0).astype(str),
                         "column": stacked.index.get_level_values(1).astype(str),
                         "value": stacked.to_numpy(dtype=float)})


def read_bea(directory: str | Path) -> pd.DataFrame:
    """US use tables (all origins = domestic + imported) and industry output, BEA summary 2024."""
    directory = Path(directory)
    domestic = _read(directory / "bea_use_domestic.csv", index_col="bea_code")
    imported = _read(directory / "bea_use_import.csv", index_col="bea_code")
    output = _read(directory / "bea_industry_output.csv", index_col="bea_code")["output"]
    industries = [c for c in domestic.columns if c in output.index]
    if len(industries) < 60:
        raise DataFormatError(directory / "bea_use_domestic.csv", f"expected the 71 BEA summary industries as "
                                                                 f"columns, found {len(industries)}")
    rows = [r for r in domestic.index if r in industries]
    domestic = domestic.loc[rows, industries].astype(float)
    total = domestic.add(imported.reindex(index=rows, columns=industries).fillna(0.0).astype(float))
    source = "BEA summary Use table 2024 (producer prices, before redefinitions)"
    out = pd.DataFrame({"region": "USA", "year": BEA_YEAR, "source": source, "table": "output",
                        "row": industries, "column": "", "value": output.reindex(industries).to_numpy(float)})
    return pd.concat([_long(total, "USA", BEA_YEAR, source, "use"),
                      _long(domestic, "USA", BEA_YEAR, source, "use_domestic"), out], ignore_index=True)


def read_wiod(directory: str | Path, regions: dict[str, str]) -> pd.DataFrame:
    """WIOD 2011 intermediate use and output aggregated to ``regions`` (WIOD ISO3 → region; others skipped).

    WIOD codes Romania ``ROM``; it is read as ``ROU``."""
    directory = Path(directory)
    flows = _read(directory / "wiot2011_Z.csv", index_col=0)
    final = _read(directory / "wiot2011_Y_x.csv", index_col=0)
    if "output" not in final.columns:
        raise DataFormatError(directory / "wiot2011_Y_x.csv", "expected a gross-output column 'output'")
    output = final["output"].astype(float)

    def split(labels: pd.Index) -> tuple[np.ndarray, np.ndarray]:
        parts = labels.str.rsplit("_", n=1)
        country = np.array([p[0].replace("ROM", "ROU") for p in parts])
        return country, np.array([p[1] for p in parts])

    from_country, from_industry = split(flows.index)
    to_country, to_industry = split(flows.columns)
    source = "WIOD 2013 release, world input-output table 2011 (Timmer et al. 2015)"
    frames = []
    values = flows.to_numpy(dtype=float)
    for region in sorted(set(regions.values()) - {"USA"}):  # the USA: BEA's own tables (read_bea)
        into = np.isin(to_country, [c for c, r in regions.items() if r == region])
        if not into.any():
            continue
        inside = np.isin(from_country, [c for c, r in regions.items() if r == region])
        cols = pd.Index(to_industry[into])
        for table, rows_mask in (("use", np.ones(len(from_country), dtype=bool)), ("use_domestic", inside)):
            block = pd.DataFrame(values[np.ix_(rows_mask, into)], index=from_industry[rows_mask], columns=cols)
            block = block.T.groupby(level=0).sum().T.groupby(level=0).sum()  # industry × industry in the region
            frames.append(_long(block, region, WIOD_YEAR, source, table))
        out_country, out_industry = split(output.index)
        mask = np.isin(out_country, [c for c, r in regions.items() if r == region])
        summed = output[mask].groupby(out_industry[mask]).sum()
        frames.append(pd.DataFrame({"region": region, "year": WIOD_YEAR, "source": source, "table": "output",
                                    "row": summed.index.astype(str), "column": "",
                                    "value": summed.to_numpy(float)}))
    out_country, out_industry = split(output.index)
    for region in [*sorted(set(regions.values())), "WLD"]:
        mask = np.isin(out_country, [c for c, r in regions.items() if r == region]) if region != "WLD" else \
            out_country != ""
        summed = output[mask].groupby(out_industry[mask]).sum()
        frames.append(pd.DataFrame({"region": region, "year": WIOD_YEAR, "source": source, "table": "wiod_output",
                                    "row": summed.index.astype(str), "column": "",
                                    "value": summed.to_numpy(float)}))
    return pd.concat(frames, ignore_index=True)


def read_io_tables(raw_dir: str | Path, regions: dict[str, str]) -> pd.DataFrame:
    """Both sources: the BEA table for the USA, WIOD for every other region of ``regions`` (ISO3 → region)."""
    raw_dir = Path(raw_dir) / "io_tables"
    return pd.concat([read_bea(raw_dir / BEA_DIR), read_wiod(raw_dir / WIOD_DIR, regions)], ignore_index=True)
