"""Production concentration: shares, leading producer, Herfindahl–Hirschman index, number of producers.

All functions are pure and vectorised over any extra dimensions (source, material, stage, year).

Shares are relative to the **published world total** ``W`` (which includes the publisher's
"Other countries" remainder and rounding):  ``s_c = q_c / W`` — or ``q_c / Σ q`` where the named economies add
up to more than a rounded ``W``, so shares never sum above 1.  The part of ``W`` not attributed to a named
economy, ``r = 1 − Σ_c s_c``, is reported as ``unallocated_share``.

HHI treatment of the remainder: ``hhi = Σ_c s_c²`` over named economies only, i.e. the remainder is
treated as fully atomised (many small producers, each with a negligible share).  This is the lower bound;
``hhi_upper = hhi + max(r, 0)²`` treats the remainder as a single producer.  Both lie in [0, 1]
(the 0–10 000 scale used by competition authorities is ``10 000 × hhi``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Art. 5(1)(d)) single-third-country benchmark.
CRMA_SINGLE_COUNTRY_BENCHMARK = 0.65


def production_shares(production: xr.DataArray, world_total: xr.DataArray, dim: str = "country") -> xr.DataArray:
    """Share of each economy in the published world total, ``s_c = q_c / max(W, Σ_c q_c)`` (NaN where either
    is missing).

    Where the world total is missing, the shares are missing too: minsec never divides by a partial sum.  Where
    the named economies add up to *more* than the published total — USGS rounds world totals (MCS 2026 gallium
    2025: China 900 t + Russia 6 t + Japan 3 t against a world total of 900 t) — their sum is the denominator,
    so shares add up to at most 1 and the HHI stays in [0, 1] (China 99.0 %, not 100 %).
    """
    named = production.sum(dim, skipna=True)
    total = np.fmax(world_total, named).where(world_total > 0)
    return production / total


def unallocated_share(shares: xr.DataArray, dim: str = "country") -> xr.DataArray:
    """``1 − Σ_c s_c``: the published remainder ("Other countries", rounding, withheld figures)."""
    known = shares.notnull().any(dim)
    remainder = 1.0 - shares.sum(dim, skipna=True)
    return remainder.where(np.abs(remainder) > 1e-12, 0.0).where(known)   # float noise of Σ q / Σ q is 0


def herfindahl_hirschman_index(shares: xr.DataArray, dim: str = "country") -> xr.DataArray:
    """HHI = Σ_c s_c² (Herfindahl 1950; Hirschman 1945), on the 0–1 scale; NaN where no share is known."""
    known = shares.notnull().any(dim)
    return (shares**2).sum(dim, skipna=True).where(known)


def number_of_producers(production: xr.DataArray, dim: str = "country") -> xr.DataArray:
    """Number of economies with positive reported production; NaN where no economy has a figure (a series whose
    every figure is withheld has an unknown number of producers, not none)."""
    return (production > 0).sum(dim).where(production.notnull().any(dim))


def leading_producer(shares: xr.DataArray, dim: str = "country") -> tuple[xr.DataArray, xr.DataArray]:
    """(code of the economy with the largest share, that share). Code is '' where nothing is known."""
    filled = shares.fillna(-1.0)
    index = filled.argmax(dim)
    top_share = shares.max(dim, skipna=True)
    codes = xr.DataArray(shares[dim].values[index.values], dims=index.dims, coords=index.coords)
    codes = codes.where(top_share.notnull(), "")
    return codes, top_share


def concentration(production: xr.DataArray, world_total: xr.DataArray, dim: str = "country") -> xr.Dataset:
    """All concentration measures at once, as an ``xarray.Dataset`` over the non-country dimensions.

    Variables: ``world_total``, ``top_country``, ``top_share``, ``hhi``, ``hhi_upper``, ``n_producers``,
    ``unallocated_share`` (includes withheld figures such as USGS "W"), ``exceeds_65pct`` (top share > 65 %,
    the CRMA benchmark applied to world supply: 1.0/0.0, NaN where no share is known — unknown is not "no").
    """
    shares = production_shares(production, world_total, dim)
    hhi = herfindahl_hirschman_index(shares, dim)
    remainder = unallocated_share(shares, dim)
    top_country, top_share = leading_producer(shares, dim)
    return xr.Dataset({
        "world_total": world_total,
        "top_country": top_country,
        "top_share": top_share,
        "hhi": hhi,
        "hhi_upper": hhi + np.maximum(remainder, 0.0) ** 2,
        "n_producers": number_of_producers(production, dim),
        "unallocated_share": remainder,
        "exceeds_65pct": (top_share > CRMA_SINGLE_COUNTRY_BENCHMARK).where(top_share.notnull()),
    })
