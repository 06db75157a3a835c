"""Stockpile planning: what to buy with a budget, optimised over disruption scenarios (docs/methods.md).

``inputs`` (scenario shortfalls, prices, losses; validation), ``model`` (the two-stage LP in linopy + HiGHS
and the dispatcher), ``newsvendor`` (the decomposed fast path), ``plan`` (tables, frontier, value of
cooperation, comparison with published stockpiles), ``setup`` (assembling a problem from bundled data).
"""
