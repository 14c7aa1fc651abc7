"""Matching quality of the match keys on synthetic registrations (issue 7).

Synthetic persons (``bench/synthetisch.py``) are registered in one region, or
(``AANDEEL_TWEE_REGIOS``) in two, each registration with its own errors. Two
registrations in different regions match when they share a match key: equal
keys give equal tokens because the OPRF is deterministic, so the OPRF itself is
not run here. Confidence is ZEKER when the shared keys include the BSN key
(``is_zeker``), else WAARSCHIJNLIJK. The figures are compared with the targets
of the issue and with a BSN-only baseline; definitions in docs/kwaliteit.md.

    python bench/kwaliteit.py [--personen 10000] [--seed 1] [--json bench/results.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.synthetisch import Foutkansen, Generator, Registratie, registreer
from gedeeld.fouten import ValidationError
from gedeeld.identiteit import SleutelType, is_zeker, leid_matchsleutels, valideer_bsn

REGIOS = ("wvv", "arnhem", "haaglanden", "rotterdam", "twente")
# About a quarter of the ZVH clients is known in a second region: people move, and
# family members, offenders and people in crisis cross regional borders.
AANDEEL_TWEE_REGIOS = 0.25

# Errors that leave the name keys as they are: the key rules normalise the first five
# away (docs/matchsleutels.md), the BSN errors do not touch names. The test checks this.
NEUTRAAL_VOOR_NAAMSLEUTELS = frozenset(
    {
        "hoofdletters",
        "voorvoegsel_achteraan",
        "zonder_diakrieten",
        "alleen_eerste_voornaam",
        "voorletters",
        "bsn_notatie",
        "bsn_ontbreekt",
        "bsn_ander",
    }
)

ZEKER = "ZEKER"
WAARSCHIJNLIJK = "WAARSCHIJNLIJK"

Paar = tuple[int, int]


@dataclass(frozen=True)
class Verhouding:
    """A measured fraction, kept as counts so that the table shows what it rests on."""

    teller: int
    noemer: int

    @property
    def waarde(self) -> float | None:
        return self.teller / self.noemer if self.noemer else None

    def tekst(self) -> str:
        return "-" if self.waarde is None else f"{self.waarde:.4f}"

    def als_dict(self) -> dict[str, Any]:
        w = self.waarde
        return {"value": None if w is None else round(w, 5), "count": self.teller, "of": self.noemer}


@dataclass(frozen=True)
class Doel:
    """One target of the issue: ``meting`` must be at least ``minimum``."""

    naam: str
    meting: Verhouding
    minimum: float

    @property
    def gehaald(self) -> bool:
        w = self.meting.waarde
        return w is not None and w >= self.minimum


@dataclass(frozen=True)
class Foutstatistiek:
    """How the true pairs fare that have this error in at least one of their two registrations."""

    registraties: int
    gevonden: Verhouding  # matched at any level
    # Of those pairs that share no BSN key and have no other error that changes a name
    # key: matched. This is what the name keys do about this one error.
    alleen_deze: Verhouding


@dataclass
class Uitslag:
    personen: int
    registraties: int
    geweigerd: int
    precisie: dict[str, Verhouding]
    recall: dict[str, Verhouding]
    basislijn_precisie: Verhouding
    basislijn_recall: Verhouding
    botsingen: int
    personen_in_botsing: int
    botsing_typen: Counter[str]
    per_fout: dict[str, Foutstatistiek]
    gemist: Counter[str]
    voorbeelden: list[str]
    seconden: float = 0.0

    @property
    def doelen(self) -> list[Doel]:
        """The targets of issue 7, in the order the issue gives them."""
        return [
            Doel("ZEKER recall", self.recall[ZEKER], 0.97),
            Doel("ZEKER precision", self.precisie[ZEKER], 0.999),
            Doel("recall without BSN", self.recall["zonder_bsn"], 0.90),
            Doel("WAARSCHIJNLIJK precision", self.precisie[WAARSCHIJNLIJK], 0.99),
        ]

    def als_dict(self) -> dict[str, Any]:
        return {
            "personen": self.personen,
            "registraties": self.registraties,
            "geweigerd": self.geweigerd,
            "precision": {k: v.als_dict() for k, v in self.precisie.items()},
            "recall": {k: v.als_dict() for k, v in self.recall.items()},
            "baseline_bsn_only": {
                "precision": self.basislijn_precisie.als_dict(),
                "recall": self.basislijn_recall.als_dict(),
            },
            "collisions": {
                "pairs": self.botsingen,
                "persons": self.personen_in_botsing,
                "by_key_types": dict(self.botsing_typen),
            },
            "targets": {
                d.naam: {**d.meting.als_dict(), "minimum": d.minimum, "met": d.gehaald} for d in self.doelen
            },
            "per_error": {
                naam: {
                    "registrations": s.registraties,
                    "recall": s.gevonden.als_dict(),
                    "recall_no_shared_bsn_no_other_name_error": s.alleen_deze.als_dict(),
                }
                for naam, s in self.per_fout.items()
            },
            "missed_by_errors": dict(self.gemist.most_common(15)),
            "seconds": round(self.seconden, 2),
        }


def bouw_registraties(
    personen: int,
    zaad: int,
    *,
    kansen: Foutkansen | None = None,
    aandeel_zonder_bsn: float = 0.10,
    aandeel_twee_regios: float = AANDEEL_TWEE_REGIOS,
    regios: Sequence[str] = REGIOS,
) -> list[Registratie]:
    """Generate ``personen`` persons and their registrations, deterministically from ``zaad``.

    Three independent streams: the population and the spread over regions do
    not change when an error rate does, so runs with other rates compare the
    same people.
    """
    kansen = Foutkansen() if kansen is None else kansen
    generator = Generator(random.Random(f"{zaad}:personen"), aandeel_zonder_bsn=aandeel_zonder_bsn)
    spreiding = random.Random(f"{zaad}:regios")
    fouten = random.Random(f"{zaad}:fouten")
    uit: list[Registratie] = []
    for _ in range(personen):
        p = generator.persoon()
        aantal = 2 if spreiding.random() < aandeel_twee_regios else 1
        for regio in spreiding.sample(list(regios), aantal):
            uit.append(registreer(p, regio, fouten, kansen))
    return uit


def gevonden_paren(registraties: Sequence[Registratie]) -> tuple[dict[Paar, set[SleutelType]], int]:
    """Cross-region pairs that share a key, with the types of the shared keys; and the refused count.

    An inverted index on the key bytes: only registrations that share a key are
    ever compared, so the cost grows with the matches, not with n².
    """
    index: defaultdict[bytes, list[int]] = defaultdict(list)
    soort: dict[bytes, SleutelType] = {}
    geweigerd = 0
    for i, reg in enumerate(registraties):
        try:
            sleutels = leid_matchsleutels(reg.gegevens())
        except ValidationError:
            geweigerd += 1  # a node would refuse this registration: it can never match
            continue
        for s in sleutels:
            index[s.waarde].append(i)
            soort[s.waarde] = s.type
    paren: defaultdict[Paar, set[SleutelType]] = defaultdict(set)
    for waarde, lijst in index.items():
        for a, b in combinations(lijst, 2):
            if registraties[a].regio != registraties[b].regio:
                paren[(a, b)].add(soort[waarde])
    return dict(paren), geweigerd


def echte_paren(registraties: Sequence[Registratie]) -> list[Paar]:
    """Pairs of registrations of the same person (in different regions by construction)."""
    per_persoon: defaultdict[int, list[int]] = defaultdict(list)
    for i, reg in enumerate(registraties):
        per_persoon[reg.persoon].append(i)
    return [(a, b) for lijst in per_persoon.values() for a, b in combinations(lijst, 2)]


def _geldig_bsn(bsn: str | None) -> str | None:
    if bsn is None:
        return None
    try:
        return valideer_bsn(bsn)
    except ValidationError:
        return None


def basislijn(registraties: Sequence[Registratie]) -> set[Paar]:
    """BSN-only matching: a cross-region pair matches iff both carry the same valid BSN."""
    index: defaultdict[str, list[int]] = defaultdict(list)
    for i, reg in enumerate(registraties):
        if (bsn := _geldig_bsn(reg.bsn)) is not None:
            index[bsn].append(i)
    return {
        (a, b)
        for lijst in index.values()
        for a, b in combinations(lijst, 2)
        if registraties[a].regio != registraties[b].regio
    }


def evalueer(registraties: Sequence[Registratie]) -> Uitslag:
    """All figures of one population; see docs/kwaliteit.md for the definitions."""
    gevonden, geweigerd = gevonden_paren(registraties)
    echt = echte_paren(registraties)
    echt_set = set(echt)
    niveau = {paar: ZEKER if is_zeker(typen) else WAARSCHIJNLIJK for paar, typen in gevonden.items()}

    def heeft_bsn(i: int) -> bool:
        return registraties[i].bsn is not None

    def deelt_bsn(paar: Paar) -> bool:
        a, b = (_geldig_bsn(registraties[i].bsn) for i in paar)
        return a is not None and a == b

    precisie: dict[str, Verhouding] = {}
    for naam in (ZEKER, WAARSCHIJNLIJK):
        op_niveau = [p for p, n in niveau.items() if n == naam]
        precisie[naam] = Verhouding(sum(p in echt_set for p in op_niveau), len(op_niveau))
    alle_juist = sum(p in echt_set for p in gevonden)
    precisie["totaal"] = Verhouding(alle_juist, len(gevonden))

    def recall(paren: Iterable[Paar], *, alleen: str | None = None) -> Verhouding:
        lijst = list(paren)
        raak = sum(p in niveau and (alleen is None or niveau[p] == alleen) for p in lijst)
        return Verhouding(raak, len(lijst))

    beide_bsn = [p for p in echt if heeft_bsn(p[0]) and heeft_bsn(p[1])]
    geen_gedeeld_bsn = [p for p in echt if not deelt_bsn(p)]
    zonder_bsn = [p for p in echt if not (heeft_bsn(p[0]) and heeft_bsn(p[1]))]
    persoon_zonder = {p for p in zonder_bsn if not any("bsn_ontbreekt" in registraties[i].fouten for i in p)}
    recalls = {
        ZEKER: recall(beide_bsn, alleen=ZEKER),
        "zeker.persoon_met_bsn": recall((p for p in echt if p not in persoon_zonder), alleen=ZEKER),
        WAARSCHIJNLIJK: recall(geen_gedeeld_bsn, alleen=WAARSCHIJNLIJK),
        "totaal": recall(echt),
        "zonder_bsn": recall(zonder_bsn),
        "zonder_bsn.persoon_zonder_bsn": recall(persoon_zonder),
        "zonder_bsn.bsn_ontbreekt": recall(p for p in zonder_bsn if p not in persoon_zonder),
    }

    basis = basislijn(registraties)
    basis_juist = len(basis & echt_set)

    vals = [p for p in gevonden if p not in echt_set]
    botsing_typen = Counter("+".join(sorted(gevonden[p])) for p in vals)
    in_botsing = {registraties[i].persoon for p in vals for i in p}

    per_fout = _per_fout(registraties, echt, niveau, deelt_bsn)
    gemist, voorbeelden = _gemist(registraties, [p for p in echt if p not in niveau])

    return Uitslag(
        personen=len({r.persoon for r in registraties}),
        registraties=len(registraties),
        geweigerd=geweigerd,
        precisie=precisie,
        recall=recalls,
        basislijn_precisie=Verhouding(basis_juist, len(basis)),
        basislijn_recall=Verhouding(basis_juist, len(echt)),
        botsingen=len(vals),
        personen_in_botsing=len(in_botsing),
        botsing_typen=botsing_typen,
        per_fout=per_fout,
        gemist=gemist,
        voorbeelden=voorbeelden,
    )


def _naamfouten(registraties: Sequence[Registratie], paar: Paar) -> set[str]:
    """The errors of a pair that can change a name key."""
    return {f for i in paar for f in registraties[i].fouten} - NEUTRAAL_VOOR_NAAMSLEUTELS


def _per_fout(
    registraties: Sequence[Registratie],
    echt: Sequence[Paar],
    niveau: dict[Paar, str],
    deelt_bsn: Callable[[Paar], bool],
) -> dict[str, Foutstatistiek]:
    aantal = Counter(f for r in registraties for f in r.fouten)
    geraakt: defaultdict[str, list[Paar]] = defaultdict(list)
    for paar in echt:
        for fout in {f for i in paar for f in registraties[i].fouten}:
            geraakt[fout].append(paar)
    uit: dict[str, Foutstatistiek] = {}
    for fout in sorted(aantal):
        paren = geraakt[fout]
        alleen = [p for p in paren if not deelt_bsn(p) and not _naamfouten(registraties, p) - {fout}]
        uit[fout] = Foutstatistiek(
            registraties=aantal[fout],
            gevonden=Verhouding(sum(p in niveau for p in paren), len(paren)),
            alleen_deze=Verhouding(sum(p in niveau for p in alleen), len(alleen)),
        )
    return uit


def _bsn_stand(a: Registratie, b: Registratie) -> str:
    if a.bsn is None and b.bsn is None:
        return "no BSN in either"
    if a.bsn is None or b.bsn is None:
        return "BSN in one"
    return "BSN in both"


def _gemist(registraties: Sequence[Registratie], gemiste: Sequence[Paar]) -> tuple[Counter[str], list[str]]:
    """Missed true pairs, anonymously: the names of the errors applied, and the BSN situation.

    Patterns count only the errors that change name keys; the examples list all.
    """
    per_patroon: Counter[str] = Counter()
    voorbeelden: list[str] = []
    for a, b in gemiste:
        ra, rb = registraties[a], registraties[b]
        fouten = sorted(_naamfouten(registraties, (a, b)))
        per_patroon[f"{' + '.join(fouten) or '(no name error)'}; {_bsn_stand(ra, rb)}"] += 1
        if len(voorbeelden) < 8:
            voorbeelden.append(
                f"A [{', '.join(ra.fouten) or '-'}]  B [{', '.join(rb.fouten) or '-'}]  {_bsn_stand(ra, rb)}"
            )
    return per_patroon, voorbeelden


def tabel(u: Uitslag, *, zaad: int, kansen: Foutkansen) -> str:
    """The readable report printed by the CLI."""
    regels = [
        f"matching quality: {u.personen:,} persons, seed {zaad}, {u.registraties:,} registrations"
        f" in {len(REGIOS)} regions ({u.recall['totaal'].noemer:,} persons in two), "
        f"{u.geweigerd} refused, {u.seconden:.1f} s",
        "error chances per registration: "
        + ", ".join(f"{n}={getattr(kansen, n):g}" for n in Foutkansen.namen()),
        "",
        f"{'':<44} {'matched':>8} {'correct':>8} {'false':>6} {'precision':>10} {'recall':>8} "
        f"{'of pairs':>9}",
    ]

    def rij(naam: str, precisie: Verhouding | None, recall: Verhouding) -> str:
        if precisie is None:
            return f"{naam:<44} {'':>8} {'':>8} {'':>6} {'':>10} {recall.tekst():>8} {recall.noemer:>9,}"
        juist = precisie.teller
        return (
            f"{naam:<44} {precisie.noemer:>8,} {juist:>8,} {precisie.noemer - juist:>6,} "
            f"{precisie.tekst():>10} {recall.tekst():>8} {recall.noemer:>9,}"
        )

    regels += [
        rij("ZEKER (recall: both registrations have BSN)", u.precisie[ZEKER], u.recall[ZEKER]),
        rij("  ZEKER, recall of all persons with a BSN", None, u.recall["zeker.persoon_met_bsn"]),
        rij("WAARSCHIJNLIJK (recall: no shared BSN)", u.precisie[WAARSCHIJNLIJK], u.recall[WAARSCHIJNLIJK]),
        rij("all levels", u.precisie["totaal"], u.recall["totaal"]),
        rij("without BSN in either registration", None, u.recall["zonder_bsn"]),
        rij("  person has no BSN", None, u.recall["zonder_bsn.persoon_zonder_bsn"]),
        rij("  BSN missing in one registration", None, u.recall["zonder_bsn.bsn_ontbreekt"]),
        rij("baseline: same valid BSN only", u.basislijn_precisie, u.basislijn_recall),
        "",
        "targets (issue 7):",
    ]
    for d in u.doelen:
        oordeel = "met" if d.gehaald else "NOT MET"
        regels.append(f"  {d.naam:<28} >= {d.minimum:<6} {d.meting.tekst():>8}  {oordeel}")
    typen = ", ".join(f"{n}x {t}" for t, n in u.botsing_typen.most_common()) or "-"
    regels += [
        "",
        f"collisions (matched pairs of different persons): {u.botsingen} pairs, "
        f"{u.personen_in_botsing} persons; shared key types: {typen}",
        "",
        f"{'per error (true pairs with it in A or B)':<44} {'regs':>6} {'pairs':>6} {'recall':>8}   "
        f"{'recall, no shared BSN and no other name error':>45} {'of':>5}",
    ]
    for naam, s in u.per_fout.items():
        regels.append(
            f"  {naam:<42} {s.registraties:>6,} {s.gevonden.noemer:>6,} {s.gevonden.tekst():>8} "
            f"  {s.alleen_deze.tekst():>45} {s.alleen_deze.noemer:>5,}"
        )
    regels += [
        "",
        f"missed true pairs: {sum(u.gemist.values())}; by the errors that change name keys:",
    ]
    regels += [f"  {n:>4}  {patroon}" for patroon, n in u.gemist.most_common(10)]
    regels += ["examples (errors of registration A and B):"]
    regels += [f"  {v}" for v in u.voorbeelden]
    return "\n".join(regels)


def _kans(tekst: str) -> tuple[str, float]:
    naam, _, waarde = tekst.partition("=")
    try:
        kans = float(waarde)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=CHANCE, got {tekst!r}") from None
    return naam, kans


def main(argv: Sequence[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--personen", type=int, default=10_000, help="number of persons (default 10000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zonder-bsn", type=float, default=0.10, help="share of persons without a BSN")
    parser.add_argument(
        "--kans",
        type=_kans,
        action="append",
        default=[],
        metavar="NAME=CHANCE",
        help=f"override one error chance; names: {', '.join(Foutkansen.namen())}",
    )
    parser.add_argument("--json", type=Path, help="merge the figures under 'kwaliteit' into this JSON file")
    ns = parser.parse_args(argv)
    kansen = Foutkansen()
    for naam, kans in ns.kans:
        try:
            kansen = kansen.met(naam, kans)
        except ValueError as fout:
            parser.error(str(fout))

    start = time.perf_counter()
    registraties = bouw_registraties(ns.personen, ns.seed, kansen=kansen, aandeel_zonder_bsn=ns.zonder_bsn)
    uitslag = evalueer(registraties)
    uitslag.seconden = time.perf_counter() - start
    print(tabel(uitslag, zaad=ns.seed, kansen=kansen))

    if ns.json:
        doc_json = json.loads(ns.json.read_text()) if ns.json.exists() else {}
        doc_json["kwaliteit"] = {
            "seed": ns.seed,
            "share_without_bsn": ns.zonder_bsn,
            "share_in_two_regions": AANDEEL_TWEE_REGIOS,
            "regions": list(REGIOS),
            "error_chances": {n: getattr(kansen, n) for n in Foutkansen.namen()},
            **uitslag.als_dict(),
        }
        ns.json.write_text(json.dumps(doc_json, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
