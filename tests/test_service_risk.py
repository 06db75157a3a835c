"""The risk capabilities on the REST API give the CLI's numbers: GeoPolRisk, import reliance, routes (synchronous)
and the economic impact (a background job)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from minsec.cli import app as cli_app
from minsec.server import create_app
from tests.service_support import seed_partnership
from tests.test_service import wait_for

runner = CliRunner()


@pytest.fixture
def service(database):
    partnership = seed_partnership(database)
    with TestClient(create_app(database, secure_cookies=False)) as client:
        yield client, partnership


def cli_json(*args: str) -> list | dict:
    ran = runner.invoke(cli_app, [*args, "-f", "json"])
    assert ran.exit_code == 0, ran.output
    return json.loads(ran.stdout)


@pytest.mark.parametrize(("path", "params", "command"), [
    ("/api/risk/geopolrisk", {"importer": "EU27", "year": "2022", "material": "gallium"},
     ["risk", "geopolrisk", "--importer", "EU27", "--year", "2022", "--material", "gallium"]),
    ("/api/risk/import-reliance", {"importer": "EU27", "material": "graphite", "source": "wmd"},
     ["risk", "import-reliance", "--importer", "EU27", "--material", "graphite", "--source", "wmd"]),
    ("/api/risk/routes", {"importer": "EU27", "material": "graphite"},
     ["risk", "routes", "--importer", "EU27", "--material", "graphite"]),
])
def test_risk_endpoints_give_the_cli_numbers(service, path, params, command):
    client, p = service
    response = client.get(path, params=params, headers=p.headers("de_viewer"))
    assert response.status_code == 200, response.text
    assert response.json() == cli_json(*command)


def test_risk_endpoints_name_bad_input_and_say_why_when_empty(service):
    client, p = service
    headers = p.headers("de_viewer")
    bad = client.get("/api/risk/import-reliance", params={"material": "unobtainium"}, headers=headers)
    assert bad.status_code == 422 and "unobtainium" in bad.text
    assert client.get("/api/risk/routes", params={"year": "20x4"}, headers=headers).status_code == 422
    assert client.get("/api/risk/geopolrisk", headers={}).status_code == 401
    # no figure: a 404 with the CLI's reason (USGS's published NIR named instead)
    empty = client.get("/api/risk/import-reliance", params={"importer": "USA", "material": "cobalt", "source": "usgs"},
                       headers=headers)
    assert empty.status_code == 404 and "USGS publishes a US cobalt NIR" in empty.json()["detail"]


def test_economic_impact_is_a_job_with_the_cli_result(service):
    client, p = service
    headers = p.headers("us_analyst")
    assert client.get("/api/risk/economic-impact", params={"importer": "XXX"}, headers=headers).status_code == 422
    submitted = client.get("/api/risk/economic-impact", params={"importer": "USA,EU27", "n_scenarios": 300},
                           headers=headers)
    assert submitted.status_code == 202
    job = wait_for(client, headers, submitted.json()["id"], timeout=300)
    assert job["status"] == "done", job
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    expected = cli_json("risk", "economic-impact", "--importer", "USA,EU27", "--n", "300")
    mine = {(r["importer"], r["material"]): r["expected_gdp_loss_usd"] for r in result["by_material"]}
    theirs = {(r["importer"], r["material"]): r["expected_gdp_loss_usd"] for r in expected["by_material"]}
    assert mine == pytest.approx(theirs, nan_ok=True)
    assert {"partnership", "by_industry", "ensemble"} <= set(result)


def test_research_registry_and_gaps_on_the_api(service):
    client, p = service
    headers = p.headers("us_analyst")
    listed = client.get("/api/research/programmes", params={"material": "gallium"}, headers=headers)
    assert listed.status_code == 200
    assert listed.json() == cli_json("research", "list", "--material", "gallium")
    assert client.get("/api/research/programmes", params={"stage": "mining"}, headers=headers).status_code == 422
    submitted = client.get("/api/research/gaps", params={"n_scenarios": 300}, headers=headers)
    assert submitted.status_code == 202
    job = wait_for(client, headers, submitted.json()["id"], timeout=300)
    assert job["status"] == "done", job
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    expected = cli_json("research", "gaps", "--n", "300")
    assert [(r["material"], r["stage"]) for r in result["gaps"]] == [(r["material"], r["stage"])
                                                                     for r in expected["gaps"]]


def test_rules_commitments_and_investments_give_the_cli_documents(service, database):
    from minsec.data import library

    client, p = service
    database_url = database.url
    headers = p.headers("us_analyst")
    assert client.get("/api/rules/policies", headers=headers).json() == cli_json("rules", "list")
    assert client.get("/api/rules/consumption?material=gallium", headers=headers).json() == cli_json(
        "rules", "consumption", "--material", "gallium")
    assert client.get("/api/rules/consumption?policy=partnership_baseline",
                      headers=headers).status_code == 422          # its parties are not one region
    bom = json.loads(Path(library.example("ev_battery_pack.json")).read_text())
    checked = client.post("/api/rules/check", json={"bom": bom, "policy": "us_30d", "date": "2025-06-01"},
                          headers=headers)
    assert checked.status_code == 200, checked.text
    assert checked.json() == cli_json("rules", "check", "ev_battery_pack.json", "--policy", "us_30d",
                                      "--date", "2025-06-01")
    both = client.post("/api/rules/check", json={"bom": bom, "policy": "us_30d", "policy_yaml": "x: 1"},
                       headers=headers)
    assert both.status_code == 422
    text = (Path(library.folder("policies")) / "us_30d.yaml").read_text()
    assert client.post("/api/rules/validate", json={"policy_yaml": text}, headers=headers).status_code == 200
    broken = client.post("/api/rules/validate", json={"policy_yaml": text.replace("rules:", "rulez:", 1)},
                         headers=headers)
    assert broken.status_code == 422 and "line" in broken.text
    breaches = client.get("/api/commitments/breaches", params={"date": "2026-12-06"}, headers=headers).json()
    assert breaches == cli_json("commitments", "check", "--date", "2026-12-06", "--database", database_url)
    assert "parties" in json.dumps(client.get("/api/commitments", headers=headers).json())
    assert client.get("/api/invest/projects", headers=headers).json() == cli_json("invest", "pipeline")
    assert client.get("/api/invest/benchmarks", headers=headers).json() == cli_json("invest", "benchmarks")
    submitted = client.post("/api/invest/portfolio", json={"kind": "invest_portfolio", "budget": 1e9},
                            headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = wait_for(client, headers, submitted.json()["id"], timeout=300)
    assert job["status"] == "done", job
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    assert result == cli_json("invest", "optimize", "--budget", "1e9")


def test_planning_and_markets_routes_give_the_cli_numbers(service):
    client, p = service
    headers = p.headers("us_analyst")
    assert client.get("/api/markets/prices", headers=headers).json() == cli_json("markets", "prices")
    assert client.get("/api/markets/prices", params={"material": "terbium", "values": True},
                      headers=headers).json() == cli_json("markets", "prices", "--material", "terbium", "--values")
    basket = client.get("/api/markets/reference-price", params={"material": "rare_earths", "method": "basket"},
                        headers=headers)
    assert basket.status_code == 200
    assert basket.json() == cli_json("markets", "reference-price", "--material", "rare_earths", "--method", "basket")
    assert client.get("/api/markets/reference-price", params={"material": "unobtainium"},
                      headers=headers).status_code == 422
    calibration = client.get("/api/scenarios/calibration", headers=headers).json()
    assert calibration == cli_json("scenario", "calibrate")
    submitted = client.post("/api/scenarios/run", json={"scenario": "gallium_partnership_ban_12m",
                                                        "sensitivity": False}, headers=headers)
    assert submitted.status_code == 202
    job = wait_for(client, headers, submitted.json()["id"], timeout=300)
    assert job["status"] == "done", job
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    expected = cli_json("scenario", "run", "gallium_partnership_ban_12m", "--no-sensitivity")
    assert result["by_region"] == expected["by_region"]


def test_a_finished_analysis_is_served_again_for_the_same_inputs_and_data(service):
    client, p = service
    headers = p.headers("us_analyst")
    body = {"params": {"kind": "markets_floor", "floor": 110.0, "volume": 10.0, "years": 2, "spot": 100.0,
                       "vol": 0.3, "drift": 0.0, "paths": 500, "seed": 3}}
    first = client.post("/api/jobs", json=body, headers=headers).json()
    assert wait_for(client, headers, first["id"])["status"] == "done"
    again = client.post("/api/jobs", json=body, headers=headers)
    assert again.status_code == 202 and again.json()["id"] == first["id"] and again.json()["status"] == "done"
    assert again.json()["params"]["data_version"]
    other = client.post("/api/jobs", json={"params": body["params"] | {"seed": 4}}, headers=headers).json()
    assert other["id"] != first["id"]                      # other inputs: a new job
    # another organisation never sees this one's jobs
    theirs = client.post("/api/jobs", json=body, headers=p.headers("ec_coord")).json()
    assert theirs["id"] != first["id"]


def test_emergency_allocation_job_gives_the_cli_document(service):
    client, p = service
    headers = p.headers("us_analyst")
    body = {"scenario": "gallium_partnership_ban_12m", "stock_days": {"JPN": 60}, "joint_days": 10}
    submitted = client.post("/api/emergency/allocation", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = wait_for(client, headers, submitted.json()["id"], timeout=300)
    assert job["status"] == "done", job
    result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
    expected = cli_json("emergency", "allocate", "gallium_partnership_ban_12m", "--stock-days", "JPN=60",
                        "--joint-days", "10")
    result.pop("solve_seconds", None), expected.pop("solve_seconds", None)
    assert result["partners"] == expected["partners"] and result["releases"] == expected["releases"]


def test_stock_reporting_obligations_show_dates_never_quantities(service, database):
    """Who owes a stock report and who is overdue, from the service's submissions: a member that reported 200
    days ago is overdue, one that reported last month is not, one that never reported says so — and no quantity
    leaves the submitting organisation."""
    client, p = service
    headers = p.headers("us_analyst")
    for user, as_of in (("us_coord", "2026-11-20"), ("ec_coord", "2026-05-20")):
        sent = client.post("/api/submissions", json={"kind": "stockpile_holding", "material": "gallium",
                                                    "quantity_t": 123.0, "as_of": as_of}, headers=p.headers(user))
        assert sent.status_code == 201, sent.text
    answer = client.get("/api/commitments/reports", params={"date": "2026-12-06"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "123" not in answer.text
    rows = {(r["organisation"], r["material"]): r for r in answer.json()["obligations"]}
    assert rows, answer.json()
    every = next(iter(rows.values()))["every_days"]
    us, ec = rows[("usa", "gallium")], rows[("ec", "gallium")]
    assert us["last_report"] == "2026-11-20" and us["status"] == "ok" and us["days_overdue"] == 0
    late = (dt.date(2026, 12, 6) - dt.date(2026, 5, 20)).days - every
    assert ec["status"] == ("overdue" if late > 0 else "ok") and ec["days_overdue"] == max(late, 0)
    never = [r for r in rows.values() if r["last_report"] is None]
    assert never and all(r["status"] == "never reported" and r["days_overdue"] is None for r in never)
    breaches = client.get("/api/commitments/breaches", params={"date": "2026-12-06"}, headers=headers).json()
    overdue = [f for f in breaches["findings"] if f["kind"] == "overdue_report"]
    assert len(overdue) == sum(r["status"] != "ok" for r in rows.values())


def test_exposure_parameters_price_models_ensembles_and_tariffs_give_the_cli_numbers(service):
    client, p = service
    headers = p.headers("us_analyst")
    us = client.get("/api/risk/us-exposure", params={"material": "gallium"}, headers=headers)
    assert us.status_code == 200 and us.json() == cli_json("risk", "us-exposure", "--material", "gallium")
    assert client.get("/api/risk/us-exposure", params={"period": "2025", "by_partner": True},
                      headers=headers).json() == cli_json("risk", "us-exposure", "--period", "2025", "--by-partner")
    assert client.get("/api/scenarios/parameters", params={"material": "cobalt"},
                      headers=headers).json() == cli_json("scenario", "parameters", "--material", "cobalt")
    models = client.get("/api/markets/price-models", params={"material": "cobalt"}, headers=headers).json()
    assert models["models"] == cli_json("markets", "calibrate", "--material", "cobalt")
    assert any("ou-jump" in reason for reason in models["skipped"])            # an annual series is too short
    jobs = {
        "tariff": (client.post("/api/markets/tariffs", json={"reference": 60000, "volume": 5000,
                                                              "material": "neodymium", "paths": 5000},
                               headers=headers),
                   ["markets", "tariff", "--reference", "60000", "--volume", "5000", "--material", "neodymium",
                    "--paths", "5000"]),
        "floor": (client.post("/api/markets/floors", json={"example": "mp-materials", "paths": 5000,
                                                           "variants": False}, headers=headers),
                  ["markets", "floor", "--example", "mp-materials", "--paths", "5000"]),
        "ensemble": (client.post("/api/scenarios/ensembles", json={"n": 500, "seed": 2}, headers=headers),
                     ["scenario", "ensemble", "--n", "500", "--seed", "2", "--scheduler", "none"]),
    }
    for name, (submitted, command) in jobs.items():
        assert submitted.status_code == 202, (name, submitted.text)
        job = wait_for(client, headers, submitted.json()["id"], timeout=300)
        assert job["status"] == "done", job
        result = client.get(f"/api/jobs/{job['id']}/result", headers=headers).json()
        expected = cli_json(*command)
        if name == "ensemble":
            for key in ("executor", "seconds", "rows_written"):
                result.pop(key, None), expected.pop(key, None)
            assert result == expected
        else:
            assert result["valuation"] == expected
            histogram = result.get("revenue_histogram") or result["floor_pv_histogram"]
            assert sum(histogram["counts"]) == 5000
    bad = client.post("/api/markets/tariffs", json={"reference": -1, "volume": 5000}, headers=headers)
    assert bad.status_code == 422 and "reference" in bad.text
