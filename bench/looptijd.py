"""Wall-clock time per bench phase, printed at the end and merged into ``bench/results.json``.

``make bench`` has a time budget (issue 7: under 15 minutes on the 2-core machine), so
every script records what each of its phases took; ``bench/alles.py`` prints them all
together at the end of the run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Fasen:
    """``with fasen("name"): ...`` records the wall time of that block under ``name``."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.seconden: dict[str, float] = {}
        self._begin = time.perf_counter()

    @contextmanager
    def __call__(self, naam: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconden[naam] = self.seconden.get(naam, 0.0) + time.perf_counter() - start

    def totaal(self) -> float:
        return time.perf_counter() - self._begin

    def tekst(self) -> str:
        regels = [f"wall time of {self.script} per phase (s):"]
        regels += [f"  {naam:<52} {s:7.1f}" for naam, s in self.seconden.items()]
        regels.append(f"  {'total':<52} {self.totaal():7.1f}")
        return "\n".join(regels)

    def bewaar(self, pad: Path | None) -> None:
        """Merge ``{"looptijd_s": {script: {phase: s, ..., "totaal": s}}}`` into ``pad``."""
        if pad is None:
            return
        doc = json.loads(pad.read_text()) if pad.exists() else {}
        uit = {naam: round(s, 1) for naam, s in self.seconden.items()}
        uit["totaal"] = round(self.totaal(), 1)
        doc.setdefault("looptijd_s", {})[self.script] = uit
        pad.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
