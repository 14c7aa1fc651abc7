"""Structured JSON logging for operators.

Log lines carry trace ids and counts, never identifiers in clear: callers pass
only ids (casus_id, betrokkene_id, region codes) in ``extra``. Exceptions are
logged by type, not by message, because library messages (SQL parameters,
protobuf text) can contain personal data.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from gedeeld.beheer.tracing import huidige_trace

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _basis(record: logging.LogRecord) -> dict[str, Any]:
    """ts, level, logger, msg, the current trace's ids, then the caller's ``extra`` fields."""
    doc: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    # Read at format time: handlers format synchronously in the logging call, in the task
    # (and so the context) that logged. An explicit ``extra={"trace_id": ...}`` wins.
    trace = huidige_trace.get()
    if trace is not None:
        doc["trace_id"] = trace.trace_id
        doc["span_id"] = trace.span_id
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            doc[key] = value
    if record.exc_info and record.exc_info[0] is not None:
        # Type only: exception text may quote input values.
        doc["exc_type"] = record.exc_info[0].__qualname__
    return doc


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_basis(record), default=str, ensure_ascii=False)


class RecenteFouten(logging.Handler):
    """The last ``aantal`` records at WARNING and above, for ``zvhctl status``.

    Kept: ts, level, logger, msg, trace ids, exception type and the ``extra`` fields whose
    values are plain scalars (strings cut to 200 characters); never exception text."""

    def __init__(self, aantal: int = 20, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._records: collections.deque[dict[str, Any]] = collections.deque(maxlen=aantal)
        self._slot = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            doc = {
                k: (v[:200] if isinstance(v, str) else v)
                for k, v in _basis(record).items()
                if v is None or isinstance(v, str | int | float | bool)
            }
            with self._slot:
                self._records.append(doc)
        except Exception:
            self.handleError(record)

    def lees(self) -> list[dict[str, Any]]:
        """Oldest first; copies, safe to serialise."""
        with self._slot:
            return [dict(d) for d in self._records]

    def wis(self) -> None:
        with self._slot:
            self._records.clear()


RECENTE_FOUTEN = RecenteFouten()


def recente_fouten() -> list[dict[str, Any]]:
    """The recent WARNING+ records kept by the handler ``configure()`` installs (oldest first)."""
    return RECENTE_FOUTEN.lees()


# Libraries that log SQL statements with their parameters (identifiers) below WARNING.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")


def demp_bibliotheken() -> None:
    """Cap parameter-logging libraries at WARNING, whatever the node's level: DEBUG
    logging must not become a way to read BSNs."""
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str = "INFO") -> None:
    """Send JSON lines to stderr and keep the recent warnings/errors (``recente_fouten``); idempotent."""
    demp_bibliotheken()
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    if RECENTE_FOUTEN not in root.handlers:
        root.addHandler(RECENTE_FOUTEN)
    root.setLevel(level.upper())
