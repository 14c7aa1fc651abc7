"""Reading the federation registry named on a command line, verified before anything is used."""

from __future__ import annotations

from pathlib import Path

from gedeeld.federatie import lees
from gedeeld.federatie.register import Federatie
from gedeeld.fouten import ConfigError


def lees_register(pad: Path, beheerder: str) -> Federatie:
    """The registry at ``pad``, verified against the beheerder's public key (hex); errors name the
    option (``--register``, ``--beheerder``), and a RegisterFout says what is wrong with the file."""
    try:
        sleutel = bytes.fromhex(beheerder)
    except ValueError:
        raise ConfigError("--beheerder", "not a hex public key") from None
    try:
        data = pad.read_bytes()
    except OSError as exc:
        raise ConfigError("--register", f"cannot read {pad}: {exc.strerror}") from None
    return lees(data, sleutel)  # unsigned, tampered, another beheerder or inconsistent: RegisterFout
