"""``/public``: the TLP:CLEAR alerts without authentication, as JSON and as an Atom feed (RFC 4287)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from minsec.service import sharing
from minsec.service.deps import Db
from minsec.service.schemas import AlertOut

router = APIRouter(prefix="/public", tags=["public feed"])


@router.get("/alerts", response_model=list[AlertOut])
def public_alerts(database: Db, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict]:
    """TLP:CLEAR alerts, no authentication."""
    with database.reading() as session:
        return sharing.to_dict(session, sharing.list_alerts(session, None, limit=limit))


@router.get("/feed.atom", responses={200: {"content": {"application/atom+xml": {}}}})
def atom(request: Request, database: Db, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """TLP:CLEAR alerts as an Atom feed (RFC 4287)."""
    with database.reading() as session:
        rows = sharing.to_dict(session, sharing.list_alerts(session, None, limit=limit))
    return Response(atom_feed(rows, str(request.base_url).rstrip("/")), media_type="application/atom+xml")


def atom_feed(rows: list[dict], base: str) -> bytes:
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")
    ET.SubElement(feed, f"{{{ns}}}title").text = "minsec partnership alerts (TLP:CLEAR)"
    ET.SubElement(feed, f"{{{ns}}}id").text = f"{base}/public/feed.atom"
    ET.SubElement(feed, f"{{{ns}}}link", href=f"{base}/public/feed.atom", rel="self")
    updated = max((r["updated_at"] for r in rows), default=None)
    ET.SubElement(feed, f"{{{ns}}}updated").text = updated or "1970-01-01T00:00:00+00:00"
    for row in rows:
        entry = ET.SubElement(feed, f"{{{ns}}}entry")
        ET.SubElement(entry, f"{{{ns}}}title").text = f"[TLP:CLEAR] [{row['severity']}] {row['title']}"
        ET.SubElement(entry, f"{{{ns}}}id").text = f"{base}/public/alerts/{row['id']}"
        ET.SubElement(entry, f"{{{ns}}}updated").text = row["updated_at"]
        ET.SubElement(entry, f"{{{ns}}}published").text = row["created_at"]
        author = ET.SubElement(entry, f"{{{ns}}}author")
        ET.SubElement(author, f"{{{ns}}}name").text = row["author_organisation"]
        for material in row["materials"]:
            ET.SubElement(entry, f"{{{ns}}}category", term=material)
        ET.SubElement(entry, f"{{{ns}}}content", type="text").text = row["body"]
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
