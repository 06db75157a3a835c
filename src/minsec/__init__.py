"""minsec — operational platform for an allied critical-minerals partnership.

Layers (dependencies point one way): ``data`` (loaders, catalogue, bundle) → ``model`` (the
:class:`~minsec.model.SupplyChain` container) → ``risk`` (pure supply-risk indices) → ``cli``.
Imports are lazy so that ``minsec --help`` stays fast.
"""

__version__ = "0.1.0"
