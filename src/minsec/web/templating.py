"""The Jinja2 environment of the dashboard pages and the briefings (autoescaped HTML)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from minsec.web import views

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = views.cell
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def plotly_js_path() -> Path:
    """plotly.js 4.1.1 with the dashboard's trace types only (static/vendor/PROVENANCE.md)."""
    return STATIC / "vendor" / "plotly-minsec.min.js"
