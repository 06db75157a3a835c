"""The library shipped with minsec: scenarios, policies, commitments registers, worked examples and the
project pipeline — one folder per kind, read by the capability that uses it.

================  ==========================================================================================
folder            what it holds
================  ==========================================================================================
``scenarios``     historical and plausible disruption scenarios (YAML; ``minsec scenario list``)
``policies``      rules for outside suppliers: US §30D, EU CRMA / Batteries Regulation, a partnership baseline
``commitments``   the partnership's commitments register (no export restrictions between partners …)
``examples``      worked inputs: a bill of materials (``ev_battery_pack.json``), the MP Materials price floor
``projects``      the critical-mineral project pipeline (113 sourced projects, with PROVENANCE.md)
``research``      public R&D programmes on critical-mineral supply chains (108 sourced rows, with PROVENANCE.md)
================  ==========================================================================================
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from minsec.errors import UnknownNameError

KINDS = ("scenarios", "policies", "commitments", "examples", "projects", "research")


def folder(kind: str) -> Path:
    """The folder of one kind of library item."""
    if kind not in KINDS:
        raise UnknownNameError(f"unknown library folder {kind!r}; known: {', '.join(KINDS)}")
    return Path(str(resources.files(__package__).joinpath(kind)))


def items(kind: str, pattern: str = "*.yaml") -> dict[str, Path]:
    """Name (file stem) → file of one kind, sorted by name."""
    return {p.stem: p for p in sorted(folder(kind).glob(pattern))}


def example(name: str) -> Path:
    """A worked example by file name (``ev_battery_pack.json``) or stem with dashes (``mp-materials``)."""
    for path in sorted(folder("examples").iterdir()):
        if name in (path.name, path.stem, path.stem.replace("_", "-")):
            return path
    known = ", ".join(sorted(p.stem.replace("_", "-") for p in folder("examples").iterdir()))
    raise UnknownNameError(f"unknown example {name!r}; available: {known}")
