"""Structured JSON logging for operators.

Log lines carry trace ids and counts, never identifiers in clear: callers pass
only ids (casus_id, betrokkene_id, region codes) in ``extra``. Exceptions are
logged by type, not by message, because library messages (SQL parameters,
protobuf text) can contain personal data.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # Type only: exception text may quote input values.
            doc["exc_type"] = record.exc_info[0].__qualname__
        return json.dumps(doc, default=str, ensure_ascii=False)


# Libraries that log SQL statements with their parameters (identifiers) below WARNING.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")


def demp_bibliotheken() -> None:
    """Cap parameter-logging libraries at WARNING, whatever the node's level: DEBUG
    logging must not become a way to read BSNs."""
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str = "INFO") -> None:
    """Send JSON lines to stderr; idempotent."""
    demp_bibliotheken()
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
