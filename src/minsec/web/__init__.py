"""The browser dashboard and the briefings: ``views`` (what each page shows, pure), ``figures`` (plotly figures
from tables), ``pages`` (the pages' router, composed with the REST API by :mod:`minsec.server`; it takes the
service's shared dependencies from :mod:`minsec.service.deps` and never imports the API's routers or the
server), ``brief`` (HTML/PDF briefings), ``templating``."""
