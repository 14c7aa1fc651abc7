"""Page tokens for keyset pagination: opaque to clients, bound to the filters they came with."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime

from google.protobuf.message import Message

from gedeeld.fouten import FieldViolation, ValidationError
from gedeeld.tekst import tekstfout


def filter_id(request: Message, *pagina_velden: str) -> str:
    """A short hash of the request without its paging fields: a token only fits the same filters."""
    filters = type(request)()
    filters.CopyFrom(request)
    for veld in pagina_velden:
        filters.ClearField(veld)
    return hashlib.sha256(filters.SerializeToString(deterministic=True)).hexdigest()[:16]


def maak_token(na_tijd: datetime, na_id: str, filter_id: str) -> str:
    doc = json.dumps({"t": na_tijd.isoformat(), "i": na_id, "f": filter_id})
    return base64.urlsafe_b64encode(doc.encode()).decode()


def lees_token(token: str, filter_id: str) -> tuple[datetime, str]:
    fout = ValidationError(
        FieldViolation("page_token", "ongeldig of hoort bij andere filters; begin opnieuw zonder token")
    )
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        if doc["f"] != filter_id:
            raise fout
        na_id = str(doc["i"])
        # The token comes from the client: its id must be plain text (a NUL would reach PostgreSQL).
        if tekstfout(na_id, maximum=64) is not None:
            raise fout
        return datetime.fromisoformat(doc["t"]), na_id
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise fout from exc
