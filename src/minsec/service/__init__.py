"""The partnership service: storage (``db``, migrations), accounts and TLP 2.0 rules (``accounts``,
``security``, ``sharing``), the audit chain (``audit``), background jobs over the Python API (``jobs``), the
published early warnings (``warnings``), and the REST API the FastAPI way: shared dependencies (``deps``),
middleware, run-time plumbing (``runtime``) and one router per file (``routers/``).  :mod:`minsec.server`
composes them with the web pages."""
