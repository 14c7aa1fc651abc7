"""``make bench``: the benchmarks one after the other, then the wall time of each and its phases.

Each script runs in its own process (as ``python bench/<script>.py --json <file>``) and merges
its figures into the JSON file; the federation scripts also record their phases' wall time
(``bench/looptijd.py``). Issue 7 gives the whole run 15 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HIER = Path(__file__).resolve().parent
# (script, extra arguments, name): the federation twice, now and the previous code path.
SCRIPTS = (
    ("oprf", (), "oprf"),
    ("kwaliteit", (), "kwaliteit"),
    ("federatie", (), "federatie"),
    ("federatie", ("--pad", "vorig"), "federatie_vorig"),
    ("schaal", (), "schaal"),
    ("inhalen", (), "inhalen"),
)


def naast_elkaar(doc: dict[str, Any]) -> str:
    """Now and the previous code path side by side, against the targets of issue 16."""
    regels = [f"{'figure':<52}{'now':>10}{'previous':>10}{'target':>10}"]

    def rij(naam: str, nu: float | None, vorig: float | None, doel: str = "", fmt: str = ".1f") -> None:
        def f(x: float | None) -> str:
            return "-" if x is None else format(x, fmt)

        regels.append(f"{naam:<52}{f(nu):>10}{f(vorig):>10}{doel:>10}")

    fed, oud = doc.get("federatie", {}), doc.get("federatie_vorig", {})

    def lat(d: dict[str, Any], k: str) -> float | None:
        waarde = d.get("aanmelden_tot_volgen_ms", {}).get(k)
        return None if waarde is None else float(waarde)

    rij(
        "bare NATS round trip p50 (ms)",
        fed.get("nats_rtt_ms", {}).get("p50"),
        oud.get("nats_rtt_ms", {}).get("p50"),
        "",
        ".2f",
    )
    rij("Aanmelden -> match on Volgen p50 (ms)", lat(fed, "p50"), lat(oud, "p50"))
    rij("Aanmelden -> match on Volgen p99 (ms)", lat(fed, "p99"), lat(oud, "p99"), "<= 50")
    rij("ratio p50 to bare NATS p50", fed.get("verhouding_p50"), oud.get("verhouding_p50"))
    rij("ratio p99 to bare NATS p99", fed.get("verhouding_p99"), oud.get("verhouding_p99"))
    rij(
        "registrations/s accepted",
        fed.get("doorvoer", {}).get("geaccepteerd_per_s"),
        oud.get("doorvoer", {}).get("geaccepteerd_per_s"),
    )
    rij(
        "registrations/s sustained",
        fed.get("doorvoer", {}).get("volgehouden_per_s"),
        oud.get("doorvoer", {}).get("volgehouden_per_s"),
        ">= 100",
    )
    rij(
        "CPU ms of all nodes per registration",
        fed.get("doorvoer", {}).get("cpu_ms_per_registratie"),
        oud.get("doorvoer", {}).get("cpu_ms_per_registratie"),
    )
    rij(
        "ceiling: cores / CPU per registration (per s)",
        fed.get("doorvoer", {}).get("plafond_per_s"),
        oud.get("doorvoer", {}).get("plafond_per_s"),
    )
    reg = doc.get("oprf", {}).get("per_registratie", {})
    nu, vorig = reg.get("nu", {}), reg.get("vorig", {})
    rij(
        f"client scalar mults per {reg.get('sleutels', 5)}-key registration",
        nu.get("client_mult"),
        vorig.get("client_mult"),
        "<= 65",
        "d",
    )
    rij("client scalar inversions per registration", nu.get("client_inv"), vorig.get("client_inv"), "", "d")
    rij(
        "holders' scalar mults per registration (t+1 asked)",
        nu.get("houders_mult"),
        vorig.get("houders_mult"),
        "",
        "d",
    )
    return "\n".join(regels)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path, default=HIER / "results.json")
    ns = p.parse_args()
    if ns.json.exists():  # phase times of an earlier run would read as this run's
        doc = json.loads(ns.json.read_text())
        doc.pop("looptijd_s", None)
        ns.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    tijden: dict[str, float] = {}
    begin = time.perf_counter()
    for script, extra, naam in SCRIPTS:
        print(f"\n== bench/{script}.py {' '.join(extra)}", flush=True)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HIER / f"{script}.py"), "--json", str(ns.json), *extra], check=True
        )
        tijden[naam] = time.perf_counter() - start
    totaal = time.perf_counter() - begin

    doc = json.loads(ns.json.read_text())
    fasen = doc.setdefault("looptijd_s", {})
    print("\n== now and the previous code path, side by side")
    print(naast_elkaar(doc))
    print("\n== wall time (s)")
    for script, s in tijden.items():
        print(f"  {script:<60} {s:7.1f}")
        for fase, f in fasen.get(script, {}).items():
            if fase != "totaal":
                print(f"      {fase:<56} {f:7.1f}")
    print(f"  {'total':<60} {totaal:7.1f}  ({totaal / 60:.1f} min)")
    fasen["make bench"] = {script: round(s, 1) for script, s in tijden.items()} | {"totaal": round(totaal, 1)}
    ns.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
