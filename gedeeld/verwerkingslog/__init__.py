"""The processing log (verwerkingslog) after Logboek Dataverwerkingen, hash-chained."""

from pathlib import Path

from gedeeld.migraties import registreer
from gedeeld.verwerkingslog.keten import Breuk, verifieer
from gedeeld.verwerkingslog.logger import Actor, Handeling, Verwerkingslog

registreer("verwerkingslog", Path(__file__).parent / "migrations")

__all__ = ["Actor", "Breuk", "Handeling", "Verwerkingslog", "verifieer"]
