"""``make bench``: the four benchmarks one after the other, then the wall time of each and its phases.

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

HIER = Path(__file__).resolve().parent
SCRIPTS = ("oprf", "kwaliteit", "federatie", "schaal")


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
    for script in SCRIPTS:
        print(f"\n== bench/{script}.py", flush=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(HIER / f"{script}.py"), "--json", str(ns.json)], check=True)
        tijden[script] = time.perf_counter() - start
    totaal = time.perf_counter() - begin

    doc = json.loads(ns.json.read_text())
    fasen = doc.setdefault("looptijd_s", {})
    print("\n== wall time (s)")
    for script, s in tijden.items():
        print(f"  {'bench/' + script + '.py':<60} {s:7.1f}")
        for fase, f in fasen.get(script, {}).items():
            if fase != "totaal":
                print(f"      {fase:<56} {f:7.1f}")
    print(f"  {'total':<60} {totaal:7.1f}  ({totaal / 60:.1f} min)")
    fasen["make bench"] = {script: round(s, 1) for script, s in tijden.items()} | {"totaal": round(totaal, 1)}
    ns.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
