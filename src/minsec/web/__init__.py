"""The browser dashboard and the briefings: ``views`` (what each page shows, pure), ``figures`` (plotly figures
from tables), ``pages`` (the pages' router, composed with the REST API by :mod:`minsec.server`; it depends on
:mod:`minsec.service.deps` only), ``brief`` (HTML/PDF briefings), ``templating``."""
