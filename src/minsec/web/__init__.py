"""The browser dashboard and the briefings: ``views`` (what each page shows, pure), ``figures`` (plotly figures
from tables), ``pages`` (the pages mounted on the partnership service), ``brief`` (HTML/PDF briefings)."""
