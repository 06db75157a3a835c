"""What the sharing service accepts in alerts and submissions beyond their types: materials from the catalogue,
countries by ISO 3166-1 alpha-3 code (or a country group of the catalogue), dates of the data's era, and
quantities no larger than a plausible multiple of the world's yearly output.  Each refusal names the field
(:class:`~minsec.service.sharing.InvalidError`, answered 422).

Bounds (documented in docs/service.md):

* ``as_of`` between :data:`EARLIEST_AS_OF` and tomorrow (a report of stocks held, or a need, cannot be dated in
  the future; one day of slack for time zones);
* ``quantity_t`` at most :data:`YEARS_OF_OUTPUT` years of the largest yearly world output the bundled USGS
  data record for the material (a strategic stockpile holds months, not decades), or :data:`UNKNOWN_OUTPUT_MAX_T`
  where the data record no tonnage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache

from minsec.service.sharing import InvalidError

EARLIEST_AS_OF = dt.date(1990, 1, 1)
YEARS_OF_OUTPUT = 10
UNKNOWN_OUTPUT_MAX_T = 1e9


@cache
def _material_ids() -> dict[str, str]:
    """Catalogue ids by lower-case id and name."""
    from minsec.data import catalogue

    table = catalogue.materials()
    out = {str(m).lower(): str(m) for m in table.index}
    out |= {str(name).lower(): str(m) for m, name in table["name"].items()}
    return out


@cache
def _country_codes() -> frozenset[str]:
    import pycountry

    from minsec.data import catalogue

    return frozenset(c.alpha_3 for c in pycountry.countries) | frozenset(catalogue.load_groups().names)


def materials(values: Iterable[str], field: str) -> list[str]:
    """The catalogue ids of ``values`` (ids or names, any case); an unknown one is refused."""
    known, out, unknown = _material_ids(), [], []
    for value in values:
        found = known.get(value.strip().lower().replace(" ", "_")) or known.get(value.strip().lower())
        (out if found else unknown).append(found or value)
    if unknown:
        raise InvalidError(f"{field}: unknown material(s) {', '.join(repr(u) for u in unknown)} (the catalogue: "
                           "GET /api/materials)")
    return list(dict.fromkeys(out))


def countries(values: Iterable[str], field: str) -> list[str]:
    """ISO 3166-1 alpha-3 codes (or a catalogue group such as EU27), upper-cased; anything else is refused."""
    codes = [v.strip().upper() for v in values]
    unknown = [c for c in codes if c not in _country_codes()]
    if unknown:
        raise InvalidError(f"{field}: {', '.join(repr(u) for u in unknown)} not an ISO 3166-1 alpha-3 country code "
                           "(e.g. CHN, COD) or a group (EU27, partnership)")
    return list(dict.fromkeys(codes))


def as_of(value: dt.date, field: str = "as_of") -> dt.date:
    latest = dt.date.today() + dt.timedelta(days=1)
    if not EARLIEST_AS_OF <= value <= latest:
        raise InvalidError(f"{field}: {value} is outside {EARLIEST_AS_OF} … {latest} (a report cannot be dated in "
                           "the future)")
    return value


@cache
def max_quantity_t(material: str) -> float:
    """:data:`YEARS_OF_OUTPUT` × the largest yearly world output (tonnes, summed over countries, any stage) the
    bundled USGS data record for ``material``; :data:`UNKNOWN_OUTPUT_MAX_T` without one."""
    from minsec.service.deps import supply_chain

    table = supply_chain().production_table
    rows = table[(table["source"] == "usgs") & (table["material"] == material) & (table["unit"] == "t")]
    if not len(rows):
        return UNKNOWN_OUTPUT_MAX_T
    world = rows.groupby(["stage", "year"])["value"].sum().max()
    return float(YEARS_OF_OUTPUT * world) if world > 0 else UNKNOWN_OUTPUT_MAX_T


def quantity_t(material: str, value: float, field: str = "quantity_t") -> float:
    bound = max_quantity_t(material)
    if value > bound:
        raise InvalidError(f"{field}: {value:,.6g} t of {material} is more than {YEARS_OF_OUTPUT} years of the "
                           f"world's output ({bound:,.0f} t); give tonnes of the material held or needed")
    return value
