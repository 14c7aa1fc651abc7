"""A region's own key pair files: ``ondertekening.key`` (Ed25519) and ``hpke.key`` (X25519),
32 raw bytes each, mode 0600. Only public keys leave the region (into the registry)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gedeeld.crypto.envelop import Ontsleutelsleutel
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.fouten import ConfigError


@dataclass(frozen=True)
class RegioSleutels:
    ondertekening: Ondertekensleutel
    hpke: Ontsleutelsleutel

    @classmethod
    def nieuw(cls) -> RegioSleutels:
        return cls(Ondertekensleutel.nieuw(), Ontsleutelsleutel.nieuw())

    def schrijf(self, map_: Path) -> None:
        map_.mkdir(parents=True, exist_ok=True)
        for naam, data in (
            ("ondertekening.key", self.ondertekening.als_bytes()),
            ("hpke.key", self.hpke.als_bytes()),
        ):
            pad = map_ / naam
            if pad.exists():
                raise ConfigError("federatie.sleutels", f"{pad} exists; refusing to overwrite a key")
            pad.touch(mode=0o600)
            pad.write_bytes(data)

    @classmethod
    def lees(cls, map_: Path) -> RegioSleutels:
        try:
            return cls(
                Ondertekensleutel.lees((map_ / "ondertekening.key").read_bytes()),
                Ontsleutelsleutel.lees((map_ / "hpke.key").read_bytes()),
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "federatie.sleutels", f"cannot read the region's keys in {map_}: {exc}"
            ) from None
