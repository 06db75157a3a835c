"""The public Python API, pinned: ``minsec.load()`` → SupplyChain, its tables and accessors, their keyword names
(which are the CLI's option names), lazy imports and errors.  A change here is a change users see."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import typer

import minsec
from minsec.cli import app
from minsec.data.dataset import SCHEMA, bundled_dir
from minsec.errors import InputError, MinsecError, UnknownNameError

#: accessor method → the CLI command it serves; the command's options must be the method's keywords
COMMANDS = {
    ("risk", "concentration"): ("risk", "concentration"), ("risk", "geopolrisk"): ("risk", "geopolrisk"),
    ("risk", "import_reliance"): ("risk", "import-reliance"), ("risk", "routes"): ("risk", "routes"),
    ("risk", "overview"): ("overview",), ("risk", "us_exposure"): ("risk", "us-exposure"),
    ("scenarios", "run"): ("scenario", "run"), ("scenarios", "ensemble"): ("scenario", "ensemble"),
    ("scenarios", "parameters"): ("scenario", "parameters"), ("scenarios", "allocate"): ("emergency", "allocate"),
    ("stockpile", "optimize"): ("stockpile", "optimize"), ("stockpile", "frontier"): ("stockpile", "frontier"),
    ("markets", "floor"): ("markets", "floor"), ("markets", "tariff"): ("markets", "tariff"),
    ("markets", "calibrate"): ("markets", "calibrate"), ("markets", "reference_price"): ("markets", "reference-price"),
    ("markets", "surveillance"): ("markets", "surveillance"),
    ("rules", "check"): ("rules", "check"), ("rules", "validate"): ("rules", "validate"),
    ("rules", "commitments"): ("commitments", "check"),
    ("invest", "pipeline"): ("invest", "pipeline"), ("invest", "benchmarks"): ("invest", "benchmarks"),
    ("invest", "optimize"): ("invest", "optimize"),
}
#: CLI options that are about output, not the question (files written, CSV table choice, the service database)
PRESENTATION = {"fmt", "table", "releases", "plot", "database", "publish"}
#: the few CLI option names that differ from the keyword (units in the Python name; CLI flag spelling)
RENAMED = {"budget": "budget_usd", "evaluable_only": "evaluable"}


def test_the_top_level_namespace_is_small():
    assert sorted(minsec.__all__) == ["MinsecError", "SupplyChain", "__version__", "load"]
    assert minsec.SupplyChain.__module__ == "minsec.model.supply_chain"
    assert minsec.MinsecError is MinsecError


def test_import_minsec_is_lazy():
    code = "import sys, minsec; print(sorted(m for m in ('pandas', 'xarray', 'minsec.model') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_load_returns_the_cached_spine_with_every_table_as_a_field():
    sc = minsec.load()
    assert isinstance(sc, minsec.SupplyChain)
    assert minsec.load() is sc                          # cached: one load per process
    assert minsec.load(cache=False) is not sc
    fields = {f.name for f in dataclasses.fields(sc)}
    table_fields = {"production": "production_releases", "governance": "governance_table"}
    for table in SCHEMA:
        name = table_fields.get(table, table)
        assert name in fields, table
        assert isinstance(getattr(sc, name), pd.DataFrame) and len(getattr(sc, name)) > 0, table
    assert {"groups", "manifest", "path"} <= fields
    assert sc.path == bundled_dir()
    assert set(sc.accessors) == {"risk", "scenarios", "stockpile", "markets", "rules", "invest", "research"}
    assert "minsec.SupplyChain" in repr(sc)
    assert "accessors invest, markets, research, risk, rules, scenarios, stockpile" in repr(sc)


def test_load_reads_a_users_tidy_directory(tmp_path):
    for path in bundled_dir().iterdir():
        shutil.copy(path, tmp_path / path.name)
    sc = minsec.load(tmp_path)
    assert sc.path == tmp_path.resolve() and sc is not minsec.load()
    gallium = sc.risk.concentration(material="gallium", stage="refining", year=2023)
    assert gallium.loc[0, "top_country"] == "CHN"
    (tmp_path / "trade.parquet").write_bytes(b"not parquet")      # changed files are not served from the cache
    with pytest.raises(MinsecError, match=r"trade\.parquet"):
        minsec.load(tmp_path)


def test_errors_a_user_can_correct_are_minsec_errors():
    sc = minsec.load()
    with pytest.raises(UnknownNameError, match="unknown material 'unobtainium'; see `minsec materials`"):
        sc.risk.concentration(material="unobtainium")
    with pytest.raises(InputError, match="year 1900 not in the data"):
        sc.risk.concentration(year=1900)
    with pytest.raises(MinsecError, match="unknown country code 'XXX'"):
        sc.risk.geopolrisk(importer="XXX")
    with pytest.raises(MinsecError, match="does not exist"):
        minsec.load("/nonexistent/minsec")
    assert isinstance(UnknownNameError("x"), KeyError) and str(UnknownNameError("x")) == "x"


def _cli_options(path: tuple[str, ...]) -> set[str]:
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {p.name for p in command.params}


@pytest.mark.parametrize(("method", "command"), sorted(COMMANDS.items()))
def test_keyword_names_are_the_cli_option_names(method, command):
    accessor, name = method
    function = getattr(getattr(minsec.SupplyChain, accessor), name)
    keywords = set(inspect.signature(function).parameters) - {"self", "model_options", "options"}
    if name in ("floor", "tariff"):
        from minsec.markets.accessor import MODEL_OPTIONS

        keywords |= set(MODEL_OPTIONS)
    if (accessor, name) in (("stockpile", "optimize"), ("stockpile", "frontier")):
        keywords |= set(inspect.signature(minsec.SupplyChain.stockpile.prepare).parameters) - {"self", "progress"}
    options = {RENAMED.get(o, o) for o in _cli_options(command)} - PRESENTATION
    if name == "frontier":
        options.discard("budget_usd")                    # the frontier takes a list of budgets
    assert options <= keywords, f"{command}: options without a keyword: {sorted(options - keywords)}"


def test_accessor_methods_are_documented_with_units_or_references():
    for name, accessor in minsec.load().accessors.items():
        assert accessor.__doc__, name
        for method_name, method in inspect.getmembers(accessor, inspect.isfunction):
            if not method_name.startswith("_"):
                assert method.__doc__ and len(method.__doc__) > 40, f"sc.{name}.{method_name} has no docstring"


def test_threads_loading_together_share_one_chain_and_one_accessor(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    for path in bundled_dir().iterdir():
        shutil.copy(path, tmp_path / path.name)
    with ThreadPoolExecutor(4) as pool:
        chains = list(pool.map(lambda _: minsec.load(tmp_path), range(4)))
    assert all(chain is chains[0] for chain in chains)
    with ThreadPoolExecutor(4) as pool:
        accessors = list(pool.map(lambda _: chains[0].scenarios, range(4)))
    assert all(accessor is accessors[0] for accessor in accessors)
