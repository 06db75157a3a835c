"""One JSON convention for every command (docs/cli.md): a one-table answer is an array of row objects, a document
an object of its parts.  The documented table is checked against the CLI's commands, and every command is run
with small inputs and its JSON's top-level type compared with the table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from minsec.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

#: small inputs for each command (the database ones run in order on one database)
ARGS = {
    "materials": [], "overview": [], "data info": [],
    "risk concentration": ["--material", "gallium"],
    "risk geopolrisk": ["--importer", "EU27", "--material", "gallium", "--year", "2022"],
    "risk import-reliance": ["--importer", "EU27", "--material", "graphite"],
    "risk routes": ["--importer", "EU27", "--material", "graphite"],
    "risk us-exposure": ["--material", "gallium"],
    "risk economic-impact": ["--importer", "USA", "--n", "200"],
    "scenario list": [], "scenario parameters": ["--material", "cobalt"],
    "scenario run": ["gallium_partnership_ban_12m", "--no-sensitivity"],
    "scenario calibrate": [],
    "scenario ensemble": ["--n", "200", "--scheduler", "none"],
    "emergency allocate": ["gallium_partnership_ban_12m"],
    "stockpile optimize": ["--budget", "1e9", "--ensemble", "50", "--materials", "gallium"],
    "stockpile frontier": ["--budgets", "0,1e9", "--ensemble", "50", "--materials", "gallium"],
    "markets floor": ["--example", "mp-materials", "--paths", "500"],
    "markets tariff": ["--reference", "60000", "--volume", "10", "--material", "neodymium", "--paths", "500"],
    "markets prices": [], "markets calibrate": ["--material", "cobalt"],
    "markets reference-price": ["--material", "rare_earths", "--method", "basket"],
    "markets surveillance": ["--importer", "EU27", "--kind", "surge"],
    "rules list": [], "rules validate": ["us_30d"],
    "rules check": ["ev_battery_pack.json", "--policy", "partnership_baseline"],
    "commitments check": [],
    "invest pipeline": [], "invest benchmarks": [], "rules consumption": [], "invest optimize": ["--budget", "1e9"],
    "research list": [], "research gaps": ["--n", "200"],
    "admin bootstrap": ["--database", "{db}"],
    "admin org": ["ita", "--name", "Italy", "--country", "ITA", "--database", "{db}"],
    "admin client": ["ita", "minsec-ops", "--database", "{db}"],
    "admin user": ["rossi", "--organisation", "ita", "--database", "{db}"],
    "admin token": ["rossi", "--database", "{db}"],
    "admin tokens": ["--database", "{db}"],
    "admin revoke": ["1", "--database", "{db}"],
    "audit verify": ["--database", "{db}"],
    "warnings run": ["--database", "{db}"],
}


def documented() -> dict[str, str]:
    """command → "array" or "object", from the table in docs/cli.md."""
    out = {}
    for line in (ROOT / "docs" / "cli.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[1].split(" ", 1)[0].rstrip(":") in ("array", "object"):
            for name in re.findall(r"`([a-z -]+)`", cells[0]):
                out[name] = cells[1].split(" ", 1)[0].rstrip(":")
    return out


def commands() -> dict[str, bool]:
    """Every command of the CLI → whether it has ``-f``."""
    def walk(command, prefix=()):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield " ".join(prefix), any(p.name == "fmt" for p in command.params)

    return dict(walk(typer.main.get_command(app)))


def test_the_documented_table_lists_every_command_with_json():
    shapes, listed = documented(), commands()
    with_json = {name for name, fmt in listed.items() if fmt}
    assert set(shapes) == with_json, (sorted(with_json - set(shapes)), sorted(set(shapes) - with_json))
    assert set(ARGS) == with_json


@pytest.mark.parametrize("name", list(ARGS))
def test_every_command_follows_the_json_convention(name, tmp_path_factory):
    db = tmp_path_factory.getbasetemp() / "cli-json.db"          # shared: the admin commands run in order
    args = [a.format(db=f"sqlite:///{db}") for a in ARGS[name]]
    result = runner.invoke(app, [*name.split(), *args, "-f", "json"])
    assert result.exit_code == 0, (name, result.output[-2000:])
    answer = json.loads(result.stdout)
    expected = {"array": list, "object": dict}[documented()[name]]
    assert isinstance(answer, expected), (name, type(answer).__name__)
    if expected is list:
        assert all(isinstance(row, dict) for row in answer), name
