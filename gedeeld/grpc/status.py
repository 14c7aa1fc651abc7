"""The one place where project errors become gRPC statuses.

ValidationError carries google.rpc.BadRequest field violations in the rich
status details (``grpc-status-details-bin``), so clients can point at the field.
"""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from gedeeld import fouten

_CODES: list[tuple[type[fouten.ZvhError], grpc.StatusCode]] = [
    (fouten.ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (fouten.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (fouten.PreconditionError, grpc.StatusCode.FAILED_PRECONDITION),
    (fouten.ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (fouten.UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (fouten.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (fouten.RateLimitedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (fouten.UnavailableError, grpc.StatusCode.UNAVAILABLE),
]


class VersionMismatchError(fouten.PreconditionError):
    """Optimistic concurrency: the record changed since the caller read it (ABORTED)."""


def status_code(exc: fouten.ZvhError) -> grpc.StatusCode:
    if isinstance(exc, VersionMismatchError):
        return grpc.StatusCode.ABORTED
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def to_status(exc: fouten.ZvhError) -> status_pb2.Status:
    """The google.rpc.Status for ``exc``, with BadRequest details for validation fouten."""
    code = status_code(exc)
    status = status_pb2.Status(code=code.value[0], message=exc.message)
    if isinstance(exc, fouten.ValidationError):
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in exc.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    if isinstance(exc, fouten.RateLimitedError):
        # Machine-readable retry advice next to the Dutch message (google.rpc.RetryInfo).
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(int(exc.retry_after * 1000))
        packed = any_pb2.Any()
        packed.Pack(retry)
        status.details.append(packed)
    return status


def internal_status(trace_id: str) -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"interne fout; meld dit met trace-id {trace_id}",
    )


def field_violations(metadata: Iterable[tuple[str, str | bytes]] | None) -> list[tuple[str, str]]:
    """Client side: the (field, description) pairs of a failed call's trailing metadata."""
    for key, value in metadata or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            out: list[tuple[str, str]] = []
            for detail in status.details:
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(bad):
                    out.extend((v.field, v.description) for v in bad.field_violations)
            return out
    return []


def tls_geweigerd(details: str, tls: bool) -> bool:
    """Whether an UNAVAILABLE looks like the server closing a TLS connection at the handshake.

    With TLS 1.3 the client sees only "Socket closed" when the server refuses its certificate
    (or its missing one); a server that is down gives "Connection refused" instead."""
    tekst = details.lower()
    return tls and any(w in tekst for w in ("socket closed", "handshake", "certificate"))
