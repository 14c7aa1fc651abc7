"""W3C Trace Context (traceparent) for gRPC metadata and NATS headers.

A processing in region A and its consequences in region B share one trace_id,
so the verwerkingslog of both regions can be joined on it (LDV
``foreign_operation``).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
HEADER = "traceparent"


@dataclass(frozen=True)
class TraceContext:
    """One span: ``trace_id`` (32 hex), ``span_id`` (16 hex) and its parent span, if any."""

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    flags: str = "01"

    @classmethod
    def new(cls) -> TraceContext:
        return cls(trace_id=secrets.token_hex(16), span_id=secrets.token_hex(8))

    @classmethod
    def parse(cls, traceparent: str | None) -> TraceContext | None:
        """Parse a traceparent header; None when absent or malformed (never raises)."""
        if not traceparent:
            return None
        m = _TRACEPARENT.match(traceparent.strip().lower())
        if m is None or m.group(1) == "0" * 32 or m.group(2) == "0" * 16:
            return None
        return cls(trace_id=m.group(1), span_id=m.group(2), flags=m.group(3))

    def child(self) -> TraceContext:
        """A new span in the same trace, whose parent is this span."""
        return TraceContext(self.trace_id, secrets.token_hex(8), self.span_id, self.flags)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> TraceContext:
    """The server span for an incoming call: a child of the caller's span, or a new trace."""
    for key, value in metadata or ():
        if key.lower() == HEADER and isinstance(value, str):
            parent = TraceContext.parse(value)
            if parent is not None:
                return parent.child()
    return TraceContext.new()


def from_headers(headers: Mapping[str, str] | None) -> TraceContext:
    """The consumer span for a NATS message (same rule as ``from_metadata``)."""
    parent = TraceContext.parse((headers or {}).get(HEADER))
    return parent.child() if parent is not None else TraceContext.new()


# The span the current task works under: set around each RPC handler and each consumed NATS
# message, read by the JSON log formatter so every log line carries its trace_id.
huidige_trace: ContextVar[TraceContext | None] = ContextVar("zvh_huidige_trace", default=None)


def huidig() -> TraceContext | None:
    """The current span, if the caller runs inside ``in_trace``."""
    return huidige_trace.get()


@contextlib.contextmanager
def in_trace(trace: TraceContext | None) -> Iterator[TraceContext | None]:
    """Make ``trace`` the current span for the enclosed code (logs carry its ids); restored on exit.

    Do not ``yield`` (in a generator) or ``await`` across task boundaries inside the block: the
    variable is reset in the context it was set in."""
    token = huidige_trace.set(trace)
    try:
        yield trace
    finally:
        huidige_trace.reset(token)


def voor_bericht(headers: Mapping[str, str] | None) -> TraceContext:
    """The span for handling a NATS message: the current one when the consumer loop already set it
    for this very message (same parent span), else a new child of the message's traceparent."""
    nu = huidige_trace.get()
    ouder = TraceContext.parse((headers or {}).get(HEADER))
    if ouder is None:
        return TraceContext.new()
    if nu is not None and nu.trace_id == ouder.trace_id and nu.parent_span_id == ouder.span_id:
        return nu
    return ouder.child()
