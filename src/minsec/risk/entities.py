"""Importing entities: single economies and groups (EU27, the partnership) treated as one economic entity.

A flow from exporter *j* to importer *i* is an import of every entity *E* that contains *i*; it is
*internal* to *E* when *j* is in *E* too (trade between EU members is not an EU import).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd


def membership_table(entities: Mapping[str, Iterable[str]]) -> pd.DataFrame:
    """Table ``entity, country``: one row per member of each entity (an economy is its own only member)."""
    return pd.DataFrame([(name, member) for name, members in entities.items() for member in sorted(members)],
                        columns=["entity", "country"])


def entity_imports(flows: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Flows attributed to each importing entity, with ``internal`` marking trade between its members."""
    attributed = flows.merge(membership.rename(columns={"country": "importer"}), on="importer", how="inner")
    internal = pd.MultiIndex.from_arrays([attributed["entity"], attributed["exporter"]]).isin(
        pd.MultiIndex.from_frame(membership))
    return attributed.assign(internal=internal)
