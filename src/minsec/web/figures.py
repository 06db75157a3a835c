"""Plotly figures of the dashboard and the briefings: pure functions from tables to figure JSON.

Every figure is built here, in Python, from the same tables the CLI prints, so a chart and the table under it
cannot disagree.  A figure is the plain ``{"data": [...], "layout": {...}}`` mapping plotly.js draws (the
plotly.py object layer validates every property and costs ~50 ms a figure, more than the data); the traces
follow the plotly.js 4 schema.  Colours: the Okabe–Ito palette (distinguishable with the common colour-vision
deficiencies; Okabe & Ito 2008); sequential maps use Viridis for the same reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

Figure = dict[str, Any]

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
GRID = "#e6e9ee"


def values(column: Iterable) -> list:
    """A column as a JSON-ready list: numpy scalars → Python, NaN/NaT → null, dates → ISO strings."""
    out = []
    for v in (column.tolist() if hasattr(column, "tolist") else list(column)):
        if isinstance(v, float) and not math.isfinite(v):
            out.append(None)
        elif isinstance(v, pd.Timestamp | np.datetime64):
            out.append(None if pd.isna(v) else pd.Timestamp(v).isoformat())
        elif hasattr(v, "isoformat"):
            out.append(v.isoformat())
        else:
            out.append(v)
    return out


def to_json(figure: Figure) -> str:
    """The figure as JSON for ``Plotly.newPlot``; ``<``, ``>`` and ``&`` are written as JSON escapes so that
    the JSON can sit inside a ``<script>`` element whatever text the data hold (no ``</script>``, no
    ``<!--``)."""
    text = json.dumps(figure, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _axis(title: str = "", **extra) -> dict:
    return {"title": {"text": title}, "gridcolor": GRID, "zeroline": False, "automargin": True} | extra


def _figure(data: list[dict], title: str, height: int = 360, x_title: str = "", y_title: str = "",
            **layout) -> Figure:
    base = {"title": {"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"}, "height": height,
            "colorway": list(PALETTE), "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
            "font": {"family": FONT, "size": 12, "color": "#1a1a1a"}, "hoverlabel": {"font": {"family": FONT}},
            "margin": {"l": 56, "r": 16, "t": 48, "b": 48}, "legend": {"orientation": "h", "y": -0.2},
            "xaxis": _axis(x_title), "yaxis": _axis(y_title)}
    for key, value in layout.items():
        base[key] = base[key] | value if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return {"data": data, "layout": base}


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def choropleth(shares: pd.DataFrame, title: str, value_label: str = "share of world output (%)") -> Figure:
    """World map of ``shares`` (columns ``country`` ISO3, ``share`` 0–1, ``value``, ``unit``)."""
    text = [f"{c}: {v:,.0f} {u}" if np.isfinite(v) else c
            for c, v, u in zip(shares["country"], shares["value"], shares["unit"], strict=True)]
    trace = {"type": "choropleth", "locations": values(shares["country"]), "z": values(100 * shares["share"]),
             "locationmode": "ISO-3", "text": text, "colorscale": "Viridis", "reversescale": True, "zmin": 0,
             "marker": {"line": {"color": "#ffffff", "width": 0.4}},
             "colorbar": {"title": {"text": "%"}, "thickness": 12, "len": 0.8},
             "hovertemplate": "%{text}<br>%{z:.1f} % of world<extra></extra>"}
    geo = {"projection": {"type": "natural earth"}, "showframe": False, "showcoastlines": False, "showland": True,
           "landcolor": "#eeeeee", "showcountries": True, "countrycolor": "#ffffff", "lataxis": {"range": [-58, 85]}}
    return _figure([trace], title, height=340, geo=geo, margin={"l": 0, "r": 0, "t": 40, "b": 0},
                   annotations=[{"text": value_label, "showarrow": False, "x": 0, "y": 0, "xref": "paper",
                                 "yref": "paper", "font": {"size": 11, "color": "#555555"}}])


def lines(frame: pd.DataFrame, x: str, y: str, series: str, title: str, y_title: str, x_title: str = "",
          percent: bool = False, dash: dict[str, str] | None = None, mode: str = "lines+markers") -> Figure:
    """One line per value of ``series``."""
    data = []
    for name, rows in frame.groupby(series, sort=False):
        data.append({"type": "scatter", "x": values(rows[x]), "y": values(rows[y] * (100 if percent else 1)),
                     "mode": mode, "name": str(name), "line": {"dash": (dash or {}).get(str(name), "solid")},
                     "hovertemplate": f"{name}<br>%{{x}}: %{{y:.3~g}}<extra></extra>"})
    figure = _figure(data, title, x_title=x_title, y_title=y_title)
    if x == "year":
        figure["layout"]["xaxis"] |= {"dtick": 1, "tickformat": "d"}
    return figure


def bars(frame: pd.DataFrame, category: str, value: str, title: str, value_title: str, color: str | None = None,
         horizontal: bool = True, percent: bool = False, threshold: float | None = None,
         threshold_label: str = "") -> Figure:
    """Bars of ``value`` per ``category`` (grouped by ``color`` when given); an optional threshold line."""
    data = []
    groups = frame.groupby(color, sort=False) if color else [("", frame)]
    for name, rows in groups:
        numbers = values(rows[value] * (100 if percent else 1))
        labels = values(rows[category].astype(str))
        data.append({"type": "bar", "name": str(name) if color else value_title,
                     "orientation": "h" if horizontal else "v",
                     "x": numbers if horizontal else labels, "y": labels if horizontal else numbers,
                     "hovertemplate": "%{y}: %{x:.3~g}<extra></extra>" if horizontal else
                     "%{x}: %{y:.3~g}<extra></extra>"})
    shapes, annotations = [], []
    if threshold is not None:
        line = {"type": "line", "line": {"color": "#D55E00", "dash": "dash"}}
        if horizontal:
            line |= {"x0": threshold, "x1": threshold, "y0": 0, "y1": 1, "yref": "paper"}
        else:
            line |= {"y0": threshold, "y1": threshold, "x0": 0, "x1": 1, "xref": "paper"}
        shapes.append(line)
        if threshold_label:
            annotations.append({"text": threshold_label, "showarrow": False, "font": {"color": "#B04A00", "size": 11},
                                **({"x": threshold, "y": 0, "yref": "paper", "xanchor": "left", "yanchor": "bottom"}
                                   if horizontal else {"y": threshold, "x": 1, "xref": "paper",
                                                       "yanchor": "bottom", "xanchor": "right"})})
    height = max(300, 26 * frame[category].nunique() + 110) if horizontal else 360
    value_axis = _axis(value_title)
    category_axis = _axis("", autorange="reversed") if horizontal else _axis("")
    return _figure(data, title, height=height, barmode="group", shapes=shapes, annotations=annotations,
                   xaxis=value_axis if horizontal else category_axis,
                   yaxis=category_axis if horizontal else value_axis)


def sankey(flows: pd.DataFrame, title: str, unit: str = "thousand USD") -> Figure:
    """Flows (``source``, ``target``, ``value``) as a Sankey diagram; sources and targets are separate
    columns of nodes even when a name is both (a partner that exports to another partner)."""
    sources = list(dict.fromkeys(flows["source"]))
    targets = list(dict.fromkeys(flows["target"]))
    labels = [f"{s} " for s in sources] + targets          # the trailing space keeps the two columns apart
    index = {s: i for i, s in enumerate(sources)}
    offset = len(sources)
    trace = {"type": "sankey", "arrangement": "snap", "valueformat": ",.0f", "valuesuffix": f" {unit}",
             "node": {"label": labels, "pad": 12, "thickness": 14,
                      "color": ["#56B4E9"] * len(sources) + ["#0072B2"] * len(targets)},
             "link": {"source": [index[s] for s in flows["source"]],
                      "target": [offset + targets.index(t) for t in flows["target"]],
                      "value": values(flows["value"]), "color": "rgba(0,114,178,0.25)"}}
    return _figure([trace], title, height=420)


def risk_matrix(frame: pd.DataFrame, title: str) -> Figure:
    """Supply risk (GeoPolRisk score) against importance (value of the importer's supply), one marker per
    material × stage; the dotted lines are the medians (the quadrants of the usual criticality matrix)."""
    data = []
    for (stage, rows), symbol in zip(frame.groupby("stage", sort=True), ("circle", "diamond"), strict=False):
        inputs = np.stack([rows["hhi"], rows["import_risk"], rows["imports_t"], rows["domestic_production_t"],
                           rows["price_usd_per_kg"]], axis=-1)
        data.append({
            "type": "scatter", "x": values(rows["supply_value_usd"]), "y": values(rows["geopolrisk_score"]),
            "mode": "markers+text", "name": str(stage), "text": values(rows["material"]),
            "textposition": "top center", "textfont": {"size": 10},
            "marker": {"size": 11, "symbol": symbol, "color": values(rows["import_share"]), "colorscale": "Viridis",
                       "reversescale": True, "cmin": 0, "cmax": 1, "line": {"width": 0.5, "color": "#333333"},
                       "colorbar": {"title": {"text": "import<br>share"}, "thickness": 12}},
            "customdata": [values(r) for r in inputs],
            "hovertemplate": "%{text}<br>GeoPolRisk %{y:.3g} = HHI %{customdata[0]:.3f} × import risk "
                             "%{customdata[1]:.3f}<br>value of supply US$%{x:,.0f}<br>= (imports %{customdata[2]:,.0f}"
                             " t + production %{customdata[3]:,.0f} t) × %{customdata[4]:,.2f} US$/kg<extra></extra>"})
    shapes = []
    for axis, column in (("x", frame["supply_value_usd"]), ("y", frame["geopolrisk_score"])):
        median = float(np.nanmedian(column)) if len(column) else 0.0
        shape = {"type": "line", "line": {"color": "#999999", "dash": "dot", "width": 1}}
        shape |= ({"x0": median, "x1": median, "y0": 0, "y1": 1, "yref": "paper"} if axis == "x"
                  else {"y0": median, "y1": median, "x0": 0, "x1": 1, "xref": "paper"})
        shapes.append(shape)
    return _figure(data, title, height=520, shapes=shapes, legend={"orientation": "h", "y": -0.15, "x": 0},
                   xaxis=_axis("importance: value of the importer's supply, US$ (log scale)", type="log"),
                   yaxis=_axis("supply risk: GeoPolRisk score (HHI × import risk)"))


def fan(frame: pd.DataFrame, title: str, y_title: str, x_title: str = "month") -> Figure:
    """Fan chart: 5–95 % and 25–75 % bands, the median and the mean (columns ``month``, ``q05`` … ``q95``,
    ``mean``), one colour per ``region`` if the column is present."""
    data = []
    groups = frame.groupby("region", sort=False) if "region" in frame else [("", frame)]
    for (name, rows), colour in zip(groups, PALETTE, strict=False):
        label = str(name) or "all"
        month = values(rows["month"])
        for low, high, alpha in (("q05", "q95", 0.15), ("q25", "q75", 0.3)):
            data.append({"type": "scatter", "x": month, "y": values(rows[high]), "mode": "lines",
                         "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip", "legendgroup": label})
            data.append({"type": "scatter", "x": month, "y": values(rows[low]), "mode": "lines",
                         "line": {"width": 0}, "fill": "tonexty", "fillcolor": _rgba(colour, alpha),
                         "showlegend": False, "legendgroup": label, "hoverinfo": "skip",
                         "name": f"{label} {low[1:]}–{high[1:]} %"})
        data.append({"type": "scatter", "x": month, "y": values(rows["q50"]), "mode": "lines",
                     "name": f"{label} median", "line": {"color": colour}, "legendgroup": label,
                     "customdata": [values(r) for r in rows[["q05", "q95", "mean"]].to_numpy()],
                     "hovertemplate": f"{label} month %{{x}}: median %{{y:.3g}}, 5–95 % %{{customdata[0]:.3g}}–"
                                      "%{customdata[1]:.3g}, mean %{customdata[2]:.3g}<extra></extra>"})
        data.append({"type": "scatter", "x": month, "y": values(rows["mean"]), "mode": "lines",
                     "name": f"{label} mean", "line": {"color": colour, "dash": "dot"}, "legendgroup": label,
                     "hoverinfo": "skip"})
    return _figure(data, title, x_title=x_title, y_title=y_title)


def exceedance(frame: pd.DataFrame, title: str) -> Figure:
    """Exceedance curves P(shortfall > x) per ``region`` (columns ``shortfall_pct``, ``probability``)."""
    data = [{"type": "scatter", "x": values(rows["shortfall_pct"]), "y": values(rows["probability"]),
             "mode": "lines", "name": str(name), "line": {"shape": "hv"},
             "hovertemplate": f"{name}: P(shortfall > %{{x}} %) = %{{y:.3%}}<extra></extra>"}
            for name, rows in frame.groupby("region", sort=False)]
    return _figure(data, title, x_title="shortfall over the horizon (% of demand)",
                   y_title="probability of exceeding", yaxis={"tickformat": ".0%"})


def histogram(counts: Sequence[float], edges: Sequence[float], title: str, x_title: str, scale: float = 1e6,
              mean: float | None = None) -> Figure:
    """A histogram from pre-binned ``counts`` over ``edges`` (values divided by ``scale``)."""
    edges = np.asarray(edges, float) / scale
    counts = np.asarray(counts, float)
    share = counts / max(counts.sum(), 1.0)
    data = [{"type": "bar", "x": values((edges[:-1] + edges[1:]) / 2), "y": values(share),
             "width": values(np.diff(edges)), "marker": {"color": PALETTE[0]}, "name": "share of paths",
             "hovertemplate": "%{x:,.4g}: %{y:.2%} of paths<extra></extra>"}]
    shapes, annotations = [], []
    if mean is not None:
        shapes.append({"type": "line", "x0": mean / scale, "x1": mean / scale, "y0": 0, "y1": 1, "yref": "paper",
                       "line": {"color": "#D55E00", "dash": "dash"}})
        annotations.append({"x": mean / scale, "y": 1, "yref": "paper", "text": f"mean {mean / scale:,.4g}",
                            "showarrow": False, "xanchor": "left", "font": {"color": "#B04A00"}})
    return _figure(data, title, x_title=x_title, y_title="share of paths", yaxis={"tickformat": ".0%"}, bargap=0,
                   shapes=shapes, annotations=annotations)
