"""Foreign-entity-of-concern status through ownership chains.

The US test for IRC §30D (26 CFR 1.30D-6 and the DOE interpretation of "foreign entity of concern", 88 FR 84082,
Dec 2023): an entity is a FEOC if it is incorporated, headquartered or operating in a covered nation (or is
named), or if 25 % or more of its board seats, voting rights or equity are held — cumulatively, directly or
indirectly — by FEOCs.  Indirect holdings are traced through the chain: an owner that is itself a FEOC counts
with its whole stake; an owner that is not passes on its own FEOC-held share in proportion (multiplied along
the chain).  On each basis b the FEOC-held share of entity i is therefore the fixed point of

    a_i^b = Σ_j w_ij^b · (1 if j is FEOC else a_j^b),     FEOC_i ⇔ listed_i or max_b a_i^b ≥ threshold,

found by iteration: statuses only ever switch on, so it ends after at most one round per entity (cycles of
cross-holdings included).  Entities nobody describes are unknown, not clean: a line operated by one is
reported as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minsec.rules.bom import BillOfMaterials

BASES = ("equity", "voting", "board")


def _fixed_point(weights: np.ndarray, listed: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """FEOC flags and FEOC-held shares (basis × entity) given the entities that are FEOCs by themselves."""
    n = len(listed)
    feoc = listed.copy()
    held = np.zeros((weights.shape[0], n))
    for _ in range(n + 1):
        for b in range(weights.shape[0]):
            # a_b = W_b (f + (1 − f) a_b)  ⇔  (I − W_b diag(1 − f)) a_b = W_b f
            system = np.eye(n) - weights[b] * (~feoc)[None, :]
            try:
                held[b] = np.linalg.solve(system, weights[b] @ feoc.astype(float))
            except np.linalg.LinAlgError:   # a closed loop of cross-holdings among clean entities
                held[b] = np.linalg.lstsq(system, weights[b] @ feoc.astype(float), rcond=None)[0]
        held = np.round(held, 12)       # solver noise (1e-15) must not read as a holding
        updated = listed | (held.max(axis=0) >= threshold - 1e-12)
        if (updated == feoc).all():
            break
        feoc = updated
    return feoc, held


@dataclass(frozen=True)
class FeocStatus:
    entity: str
    known: bool                 # the answer does not depend on entities the bill of materials leaves undescribed
    feoc: bool
    reason: str                 # why (listed, country, or the share held and through whom)
    held_pct: dict[str, float]  # basis → FEOC-held share, percent


def feoc_status(bom: BillOfMaterials, covered_countries: frozenset[str], named: frozenset[str],
                threshold_pct: float) -> dict[str, FeocStatus]:
    """FEOC status of every entity named in the bill of materials (owners of stages and holders of shares)."""
    described = {e.name: e for e in bom.entities}
    # the unlisted rest of a partial list of holders is one holder nobody describes
    rest: dict[str, dict[str, float]] = {}
    for entity in bom.entities:
        if entity.owners_complete or not entity.owners:
            continue
        for basis in BASES:
            listed = sum(h.share_pct for h in entity.owners if h.basis == basis)
            if 0 < listed < 100 - 1e-9:
                rest.setdefault(entity.name, {})[basis] = (100 - listed) / 100
    unlisted = {name: f"(unlisted holders of {name})" for name in rest}
    names = sorted(set(described) | {h.owner for e in bom.entities for h in e.owners}
                   | {s.owner for line in bom.lines for s in line.stages if s.owner} | set(unlisted.values()))
    index = {n: i for i, n in enumerate(names)}
    n = len(names)
    weights = np.zeros((len(BASES), n, n))          # basis × held entity × owner, shares 0–1
    for entity in bom.entities:
        for holding in entity.owners:
            weights[BASES.index(holding.basis), index[entity.name], index[holding.owner]] += holding.share_pct / 100
    for name, shares in rest.items():
        for basis, share in shares.items():
            weights[BASES.index(basis), index[name], index[unlisted[name]]] = share
    listed = np.array([name in named or (name in described and described[name].country in covered_countries)
                       for name in names], dtype=bool)
    # nobody describes it, or it is described without its country (where it is incorporated is unknown)
    unknown = np.array([name not in named and (name not in described or described[name].country is None)
                        for name in names], dtype=bool)
    threshold = threshold_pct / 100
    feoc, held = _fixed_point(weights, listed, threshold)
    # the same with every entity nobody describes counted as a FEOC: where the answer changes, it is unknown
    feoc_if_unknown_are, _ = _fixed_point(weights, listed | unknown, threshold)
    out = {}
    for name, i in index.items():
        if name in unlisted.values():
            continue
        entity = described.get(name)
        share = 100 * held[:, i].max()
        if listed[i]:
            reason = "named as a foreign entity of concern" if name in named else \
                f"incorporated in {entity.country}, a covered nation"
        elif feoc[i]:
            b = int(held[:, i].argmax())
            through = [f"{h.owner} {h.share_pct:g} %" + ("" if feoc[index[h.owner]] else
                                                          f" × {100 * held[b, index[h.owner]]:.4g} %")
                       for h in entity.owners if h.basis == BASES[b]
                       and (feoc[index[h.owner]] or held[b, index[h.owner]] > 1e-9)] if entity else []
            reason = (f"{share:.4g} % of its {BASES[b]} held by foreign entities of concern: "
                      f"{' + '.join(through)} (threshold {threshold_pct:g} %)")
        elif unknown[i] and entity is None:
            reason = "not described in the bill of materials (country and owners unknown)"
        elif unknown[i]:
            reason = "its country is not given"
        elif feoc_if_unknown_are[i]:
            missing = [names[j] for j in np.flatnonzero(unknown) if weights[:, i, j].any()]
            if name in rest:
                missing = [m for m in missing if m != unlisted[name]] + [
                    f"{100 * share:g} % of its {basis} not listed" for basis, share in rest[name].items()]
            reason = (f"{share:.4g} % held by known foreign entities of concern; the status depends on owners whose "
                      f"ownership is not given{': ' + ', '.join(missing) if missing else ' (further up the chain)'}")
        else:
            reason = f"{share:.4g} % held by foreign entities of concern (threshold {threshold_pct:g} %)"
        known = bool(feoc[i] or not feoc_if_unknown_are[i])
        out[name] = FeocStatus(name, known, bool(feoc[i]), reason,
                               {b: round(100 * float(held[k, i]), 6) for k, b in enumerate(BASES)})
    return out
