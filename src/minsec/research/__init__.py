"""The research pillar: a registry of public R&D programmes on critical-mineral supply chains and where the
partnership's research effort misses its risk (``sc.research``, ``minsec research list|gaps``)."""
