"""The project's error hierarchy. Callers catch a family, never a string.

    ZvhError                      base; ``cause`` keeps the underlying exception
    ├── ValidationError           bad input; carries field violations  -> INVALID_ARGUMENT
    ├── NotFoundError             no such casus/match/...               -> NOT_FOUND
    ├── PreconditionError         valid input, wrong state              -> FAILED_PRECONDITION
    ├── ConflictError             clashes with an existing record       -> ALREADY_EXISTS
    ├── UnauthenticatedError      no or unknown credentials             -> UNAUTHENTICATED
    ├── PermissionDeniedError     known caller, role not allowed        -> PERMISSION_DENIED
    ├── RateLimitedError          caller over its budget                -> RESOURCE_EXHAUSTED
    ├── UnavailableError          a dependency (NATS, key shares) down  -> UNAVAILABLE
    ├── ConfigError               a setting is wrong or missing (start-up only)
    ├── BerichtFout               a message from another region refused; ``reden`` is a fixed
    │                             metric label (no gRPC status: counted and logged by
    │                             ``federatie.poort.weiger``, the message terminated)
    └── CryptoError               crypto refused its input
        ├── InvalidProofError     a DLEQ proof did not verify
        ├── InvalidSignatureError an Ed25519 signature did not verify
        └── DecryptionError       an HPKE envelope could not be opened

The rule for federation messages: every check on one from another region (the opener
``federatie.bericht.open_als`` and ``ontsleutel_als``, the gate ``federatie.poort``, the
services' content checks) raises ``BerichtFout`` with its ``reden``, not a refusal type of its own.

Messages must never contain an identifier in clear (BSN, name, date of birth):
they end up in logs and in gRPC status details.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: ``field`` is a dotted path (``betrokkenen[0].bsn``)."""

    field: str
    description: str


class ZvhError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class ValidationError(ZvhError):
    """Input failed validation; ``violations`` names each bad field."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation) -> None:
        if isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = list(violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(f"ongeldige invoer: {summary}")


class NotFoundError(ZvhError):
    """The addressed record does not exist (or is not visible to the caller)."""


class PreconditionError(ZvhError):
    """The request is well-formed but the current state does not allow it."""


class ConflictError(ZvhError):
    """The request clashes with an existing record (e.g. a reused request id)."""


class UnauthenticatedError(ZvhError):
    """The caller presented no credentials, or credentials we do not know."""


class PermissionDeniedError(ZvhError):
    """The caller is known but its role may not do this."""


class RateLimitedError(ZvhError):
    """The caller exceeded its rate limit; ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnavailableError(ZvhError):
    """A dependency (NATS, the key-share holders, the database) cannot be reached."""


class ConfigError(ZvhError):
    """A setting is wrong or missing; ``setting`` names it (``casusregister.listen``)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class BerichtFout(ZvhError):
    """A message from another region was refused. ``reden`` is one of a fixed set (a metric
    label: ``onleesbaar``, ``limiet``, ``ongeldige_tekst``, ...); ``opnieuw_na`` is the retry
    advice in seconds for a refusal the sender may try again (``limiet``), else 0; ``afzender``
    the verified sender when the refusal came after the signature check, else "". The message
    says what was wrong, never what the content was."""

    def __init__(self, reden: str, message: str = "", *, opnieuw_na: float = 0.0, afzender: str = "") -> None:
        super().__init__(message or reden)
        self.reden = reden
        self.opnieuw_na = opnieuw_na
        self.afzender = afzender


class CryptoError(ZvhError):
    """Cryptography refused its input. Never carries key material or inputs."""


class InvalidProofError(CryptoError):
    """A DLEQ proof did not verify against the expected public key."""


class InvalidSignatureError(CryptoError):
    """An Ed25519 signature did not verify."""


class DecryptionError(CryptoError):
    """An HPKE envelope could not be opened (wrong key, tampered, truncated)."""
