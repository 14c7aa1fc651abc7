"""The federation: its registry, the key ceremony, and pseudonymisation against it."""

from gedeeld.federatie.ceremonie import Deelnemer, ceremonie
from gedeeld.federatie.register import Federatie, Regio, RegisterFout, laad, lees

__all__ = ["Deelnemer", "Federatie", "Regio", "RegisterFout", "ceremonie", "laad", "lees"]
