"""The worst shortfalls of each market × region cell of an ensemble, kept sparse, for its CVaR.

CVaR_α of a cell over N scenarios is the mean of its k = ⌈(1 − α)·N⌉ largest shortfalls (Rockafellar & Uryasev
2000, discrete form), the scenarios without a shortfall counting as zeros.  Most scenarios leave most cells
untouched, so a :class:`Tail` stores only the non-zero values, grouped by cell, at most k per cell; chunks are
pruned as they come and merged cell by cell (no global sort), and only cells short in more than k scenarios are
ever partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tail:
    """The largest shortfalls (%) of each market × region cell with demand, sparse: ``values`` grouped by
    ``cells`` (indices into the C cells with demand, ascending), at most ``k`` per cell.  Most scenarios leave
    most cells untouched, so the zeros are not stored: a cell's sum of its k largest is the sum of its values."""

    cells: np.ndarray    # uint16 (int32 past 65,535 cells), ascending
    values: np.ndarray   # float32

    @classmethod
    def of(cls, cells: np.ndarray, values: np.ndarray, k: int) -> Tail:
        """The k largest values of each cell (``cells`` in any order)."""
        known = cells >= 0
        cells, values = cells[known], values[known]
        # 2 bytes a value where the cells allow (a million-scenario run keeps tens of millions); a stable sort of
        # small integers is a radix sort in NumPy: linear in the number of values
        cells = cells.astype(np.uint16 if cells.size and cells.max() < 2**16 else np.int32)
        order = np.argsort(cells, kind="stable")
        tail = cls(cells[order], values[order].astype(np.float32))
        starts = tail.bounds(int(cells.max()) + 1 if cells.size else 0)
        full = np.flatnonzero(np.diff(starts) > k)
        if not len(full):
            return tail
        cells, values = tail.cells, tail.values
        keep = np.ones(len(values), dtype=bool)
        for cell in full:   # cells short in more than k scenarios: the k largest of each
            lo, hi = starts[cell], starts[cell + 1]
            segment = values[lo:hi]
            order = np.argpartition(segment, len(segment) - k)
            keep[lo + order[:len(segment) - k]] = False
        return cls(cells[keep], values[keep])

    def bounds(self, n_cells: int) -> np.ndarray:
        """Where each cell's values start (and, at ``[cell + 1]``, end): the values are grouped by cell."""
        return np.concatenate([[0], np.cumsum(np.bincount(self.cells, minlength=n_cells))])

    @staticmethod
    def _cell_values(parts: list[Tail], k: int, n_cells: int):
        """Per cell with more than k values over ``parts``: (cell, its k largest values); and every cell's count
        and sum.  Each part is grouped by cell, so a cell's values are one slice per part: nothing is re-sorted
        and only the fuller cells are partitioned."""
        starts = [p.bounds(n_cells) for p in parts]
        counts = np.sum([np.diff(b) for b in starts], axis=0)
        sums = sum((np.bincount(p.cells, weights=p.values, minlength=n_cells) for p in parts), np.zeros(n_cells))

        def full():
            for cell in np.flatnonzero(counts > k):
                values = np.concatenate([p.values[b[cell]:b[cell + 1]] for p, b in zip(parts, starts, strict=True)])
                yield int(cell), np.partition(values, len(values) - k)[len(values) - k:]
        return counts, sums, starts, full()

    @classmethod
    def top_sums(cls, parts: list[Tail], k: int, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
        """Per cell, the sum of its k largest values over ``parts`` and how many it has (at most k)."""
        counts, sums, _, full = cls._cell_values(parts, k, n_cells)
        for cell, values in full:
            sums[cell] = float(values.sum(dtype=np.float64))
        return sums, np.minimum(counts, k)

    @classmethod
    def merge(cls, parts: list[Tail], k: int, n_cells: int) -> Tail:
        """One tail holding each cell's k largest values of ``parts`` (the compaction of a long run), filled cell
        by cell into arrays of the result's size."""
        counts, _, starts, full = cls._cell_values(parts, k, n_cells)
        kept = np.minimum(counts, k)
        cells = np.repeat(np.arange(n_cells, dtype=np.uint16 if n_cells < 2**16 else np.int32), kept)
        values = np.empty(int(kept.sum()), dtype=np.float32)
        offsets = np.concatenate([[0], np.cumsum(kept)])
        for cell, largest in full:
            values[offsets[cell]:offsets[cell + 1]] = largest
        for cell in np.flatnonzero((counts > 0) & (counts <= k)):
            position = offsets[cell]
            for part, bounds in zip(parts, starts, strict=True):
                piece = part.values[bounds[cell]:bounds[cell + 1]]
                values[position:position + len(piece)] = piece
                position += len(piece)
        return cls(cells, values)
