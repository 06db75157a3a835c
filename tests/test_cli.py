"""The command line: formats, the overview, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from minsec.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_concentration_json_has_the_documented_fields_and_usgs_figures():
    result = invoke("risk", "concentration", "--material", "rare_earths", "--stage", "mining", "--year", "2023",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    for field in ("material", "stage", "year", "source", "world_total", "unit", "top_country", "top_share", "hhi",
                  "n_producers", "exceeds_65pct"):
        assert field in record
    # USGS MCS 2024: China 240,000 t of a 350,000 t (rounded) world total, while the named producers add up to
    # 353,320 t — their sum is the denominator, so no share set exceeds 100 %
    assert record["top_country"] == "CHN"
    assert record["world_total"] == 350_000
    assert record["top_share"] == pytest.approx(240_000 / 353_320)
    assert record["exceeds_65pct"] is True


def test_geopolrisk_csv_for_eu27_lists_imputed_exporters_column():
    result = invoke("risk", "geopolrisk", "--importer", "EU27", "--year", "2022", "--material", "cobalt",
                    "--format", "csv")
    assert result.exit_code == 0, result.output
    header = result.output.splitlines()[0].split(",")
    for field in ("importer", "material", "material_name", "year", "hhi", "import_risk", "geopolrisk_score",
                  "characterisation_factor", "imputed_exporters"):
        assert field in header
    assert result.output.splitlines()[1].startswith("EU27,cobalt,Cobalt")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("risk", "concentration", "--material", "unobtainium"), "unknown material 'unobtainium'"),
        (("risk", "geopolrisk", "--importer", "XXX"), "unknown country code 'XXX'"),
        (("risk", "concentration", "--year", "1900"), "year 1900 not in the data"),
        (("risk", "concentration", "--source", "bgs"), "unknown source 'bgs'"),
        (("--data", "/nonexistent/minsec", "risk", "concentration"), "does not exist"),
        (("risk", "concentration", "--stage", "smelting"), "unknown stage 'smelting'"),
        (("markets", "prices", "--values"), "--values needs --material"),
        (("markets", "prices", "--material", "copper", "--stage", "metal"),
         "no bundled price series for copper at stage metal"),
        (("markets", "prices", "--stage", "smelting"), "unknown stage 'smelting'"),
    ],
)
def test_bad_input_gives_one_line_error_and_exit_code_2(args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_overview_json_has_every_section():
    result = invoke("overview", "--format", "json", "--top", "3")
    assert result.exit_code == 0, result.output
    sections = json.loads(result.output)
    titles = list(sections)
    assert any(t.startswith("Most concentrated — mining") for t in titles)
    assert any(t.startswith("Most concentrated — refining") for t in titles)
    assert any(t.startswith("CRMA benchmark") for t in titles)
    assert any("USA" in t for t in titles) and any("EU27" in t for t in titles)
    crma = next(v for k, v in sections.items() if k.startswith("CRMA"))
    assert {"material": "gallium", "stage": "refining", "top_country": "CHN"}.items() <= crma[0].items()


def test_corrupt_data_directory_is_a_clear_error(tmp_path: Path):
    (tmp_path / "production.parquet").write_bytes(b"not parquet")
    result = invoke("--data", str(tmp_path), "risk", "concentration")
    assert result.exit_code == 2
    assert "production.parquet" in result.output


def test_docs_data_format_is_generated_from_the_schema():
    from minsec.data import dataset

    docs = Path(__file__).resolve().parents[1] / "docs" / "data-format.md"
    assert docs.read_text().strip() == dataset.format_markdown().strip()


def test_help_does_not_import_the_data_stack():
    code = "import sys; from minsec.cli import app; print('pandas' in sys.modules, 'xarray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_import_reliance_for_usa_shows_usgs_published_nir_beside_minsec():
    result = invoke("risk", "import-reliance", "--importer", "USA", "--source", "usgs", "--year", "2022",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {(r["material"], r["stage"]): r for r in json.loads(result.output)}
    # the latest release that reports 2022 wins: MCS 2026 revised US aluminum NIR 2022 to 66 % (its new
    # apparent-consumption definition; MCS 2024 said 52 %) — raw: "ALUMINUM,…,Net import reliance,…,2022,66,…";
    # chromium 77 % (MCS 2024: 84 %) and barite ">75"
    assert rows[("aluminium", "refining")]["usgs_nir"] == pytest.approx(0.66)
    assert rows[("chromium", "mining")]["usgs_nir"] == pytest.approx(0.77)
    assert rows[("barite", "mining")]["usgs_nir_published"] == ">75"
    assert rows[("barite", "mining")]["usgs_nir"] is None
    # US bauxite production is withheld (W): minsec says so instead of treating it as zero — NIR is null, not 1.0
    # (MCS2024 mcs2024-bauxi_world.csv: "United States,\"Mine production, bauxite, dry tons\",W,W")
    bauxite = rows.get(("bauxite", "mining"), rows.get(("aluminium", "mining")))
    assert bauxite["production_missing"] is True
    assert bauxite["net_import_reliance"] is None and "withheld" in bauxite["nir_note"]
    for row in rows.values():
        assert row["net_import_reliance"] is None or row["net_import_reliance"] <= 1.0
        assert (row["net_import_reliance"] is None) == bool(row["nir_note"])


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("invest", "benchmarks", "--consumption", "{empty}"), "the consumption table is empty"),
        (("invest", "pipeline", "--fill", "{binary}"), "not a text fill CSV"),
        (("scenario", "run", "{binary}"), "not a text file"),
        (("commitments", "check", "--measures", "{binary}"), "not a text measures CSV"),
        (("stockpile", "frontier", "--budgets", "-1,5", "--ensemble", "20"), "budget -1 USD is outside [0, 1e+13]"),
        (("stockpile", "optimize", "--budget", "1e9", "--method", "fast", "--cvar", "0.95", "--ensemble", "20"),
         "the fast path does not apply"),
        (("invest", "optimize", "--budget", "-1"), "budget must be a non-negative number"),
        (("brief", "--material", "gallium", "--out", "{missing}/brief.html"), "does not exist"),
        (("scenario", "ensemble", "--n", "10", "--scheduler", "none", "--out", "{binary}/x.parquet"),
         "cannot create its folder"),
        (("emergency", "allocate", "gallium_partnership_ban_12m", "--joint-days", "-3"), "--joint-days must not"),
        (("stockpile", "optimize", "--budget", "1e30"), "budget 1e+30 USD is outside [0, 1e+13]"),
        # every invalid input at once, with its range: the missing price model as well as the negative floor
        (("markets", "floor", "--floor", "-10", "--volume", "10", "--years", "500", "--spot", "90"),
         "missing --drift; missing --vol; --floor -10 is outside (0, 1e+09]; --years 500 is outside [1, 40]"),
        (("markets", "floor", "--floor", "100", "--volume", "10", "--years", "5", "--spot", "90", "--drift", "0",
          "--vol", "50"), "--vol 50 is outside [0, 5]"),
        (("markets", "tariff", "--reference", "100", "--volume", "10", "--model", "ou-jump"),
         "missing --spot; missing --kappa; missing --long-run-price; missing --vol"),
        (("brief", "--material", "gallium", "--importer", "XXX", "--out", "{pdf}"), "not an ISO 3166-1 alpha-3"),
        # the bill is read before the date is parsed or the policy version looked up
        (("rules", "check", "{binary_csv}", "--policy", "us_30d", "--date", "2025-13-45"),
         "binary.csv: not a text bill of materials"),
        # on a port nobody listens on: the default 8000 may be a developer's running server
        (("serve", "--database", "nonsense://x", "--port", "{free_port}"),
         "--database nonsense://x: not a database URL"),
        (("admin", "org", "ita", "--name", "Italy", "--country", "ZZZ", "--database", "sqlite:///{db}"),
         "'ZZZ' not an ISO 3166-1 alpha-3 country code"),
        (("serve", "--secure-cookies", "--insecure-cookies"), "give one of them"),
        (("invest", "optimize", "--budget", "1e9", "--split", "US=0.5,EU=0.5", "--funding", "whoever"),
         "--funding 'whoever': one of home, pro-rata, pooled"),
        (("invest", "optimize", "--budget", "1e9", "--split", "US=0.5,XX=0.5"), "'XX' is not a partner"),
        (("rules", "consumption", "--policy", "us_30d", "--date", "2025-06-01"),
         "has no single-supplier rule on consumption"),
        (("rules", "consumption", "--policy", "partnership_baseline"), "has no single-supplier rule on consumption"),
        (("rules", "consumption", "--material", "unobtainium"), "unobtainium"),
    ],
)
def test_every_input_error_is_one_line_and_exit_code_2(tmp_path, args, message):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "binary.dat").write_bytes(b"\x00\xff\xfe\x00binary")
    (tmp_path / "binary.csv").write_bytes(b"\x00\xff\xfe\x00binary")
    paths = {"empty": tmp_path / "empty.csv", "binary": tmp_path / "binary.dat", "missing": tmp_path / "nowhere",
             "pdf": tmp_path / "brief.pdf", "binary_csv": tmp_path / "binary.csv", "db": tmp_path / "service.db",
             "free_port": _free_port()}
    result = invoke(*[a.format(**paths) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert result.stdout == ""                                   # not even a blank line before the error
    assert not (tmp_path / "brief.pdf").exists()


def test_a_failed_built_in_check_is_said_and_exits_1(monkeypatch):
    """A Monte Carlo value far from its closed form: the numbers are printed for inspection, the run fails."""
    import minsec.markets.accessor as accessor

    monkeypatch.setattr(accessor, "failed_checks", lambda rows: ["price floor (CfD): Monte Carlo +9.0 standard "
                                                                 "errors from the closed form (more than 5)"])
    result = invoke("markets", "floor", "--floor", "100", "--volume", "10", "--years", "2", "--spot", "90",
                    "--drift", "0", "--vol", "0.3", "--paths", "1000", "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)[0]["mechanism"] == "price floor (CfD)"
    assert "built-in check failed" in result.stderr and "+9.0 standard errors" in result.stderr


def test_tables_in_a_file_keep_words_whole_years_plain_and_noise_zero():
    from minsec.cli.core import _cell

    listed = invoke("materials")                    # CliRunner's stdout is not a terminal, like a file
    assert "Aluminium (primary metal)" in listed.stdout
    assert _cell(2026.0, year=True) == "2026" and _cell(1.11e-14) == "0" and _cell(float("nan"), year=True) == "—"
    benchmarks = invoke("invest", "benchmarks")
    # a year cell is plain (2026), never 2,026 (a tonnage such as 27,822,020 may contain the digits)
    assert re.search(r"│ 20[23]\d ", benchmarks.stdout) and not re.search(r"│ 2,0[23]\d ", benchmarks.stdout)


def test_the_solver_banner_shows_only_with_verbose():
    command = [sys.executable, "-m", "minsec.cli", "stockpile", "optimize", "--budget", "1e9", "--ensemble", "50",
               "--materials", "gallium", "-f", "json"]
    quiet = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["summary"] and "Running HiGHS" not in quiet.stderr + quiet.stdout
    loud = subprocess.run([*command[:3], "--verbose", *command[3:]], capture_output=True, text=True, timeout=300)
    assert "Running HiGHS" in loud.stderr and json.loads(loud.stdout)["summary"]


def test_a_bug_is_reported_as_one_not_as_bad_input(monkeypatch):
    from minsec.risk.accessor import RiskAccessor

    def broken(self, **options):
        raise TypeError("something minsec got wrong")

    monkeypatch.setattr(RiskAccessor, "concentration", broken)
    result = invoke("risk", "concentration")
    assert result.exit_code == 1
    assert "internal error — this is a bug" in result.output
    assert "TypeError: something minsec got wrong" in result.output
    assert "--debug" in result.output
    debug = invoke("--debug", "risk", "concentration")
    assert isinstance(debug.exception, TypeError)          # --debug lets the traceback through
