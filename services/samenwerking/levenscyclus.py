"""The joint-handling lifecycle of one match, as pure functions.

Both regions apply their own steps and the other's messages to the same rules,
so they end in the same state whatever the order of arrival:

- a step that does not fit the current state is refused locally
  (``OngeldigeStap``, a Dutch explanation) and ignored when it arrives from the
  other region (it was overtaken by something that already happened here);
- both proposing at the same moment: equal lead regions mean both agreed
  (SAMENWERKING); different ones are settled by the region code that sorts
  first, whose proposal stands, identically on both sides;
- a refusal wins over a crossing acceptance (both end AFGEWEZEN);
- GESLOTEN is final.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from gedeeld.fouten import PreconditionError


class Status(StrEnum):
    NIEUW = "NIEUW"
    BEKEKEN = "BEKEKEN"
    SAMENWERKING_VOORGESTELD = "SAMENWERKING_VOORGESTELD"
    SAMENWERKING = "SAMENWERKING"
    AFGEWEZEN = "AFGEWEZEN"
    GESLOTEN = "GESLOTEN"


OPEN = {Status.NIEUW, Status.BEKEKEN}
EIND = {Status.AFGEWEZEN, Status.GESLOTEN}


class OngeldigeStap(PreconditionError):
    """A procesregisseur's step that the match's state does not allow."""


@dataclass(frozen=True)
class Toestand:
    status: Status
    regie: str = ""  # the (proposed) lead region
    voorgesteld_door: str = ""
    reden: str = ""


def _tekst(s: Status) -> str:
    return s.value.lower().replace("_", " ")


# -- this region's own steps -----------------------------------------------------


def bekijk(t: Toestand) -> Toestand:
    return replace(t, status=Status.BEKEKEN) if t.status == Status.NIEUW else t


def stel_voor(t: Toestand, eigen: str, ander: str, regie: str) -> Toestand:
    if regie not in (eigen, ander):
        raise OngeldigeStap(f"de regievoerende regio moet {eigen} of {ander} zijn")
    if t.status == Status.SAMENWERKING_VOORGESTELD and t.voorgesteld_door == ander:
        raise OngeldigeStap(
            f"{ander} heeft al samenwerking voorgesteld; "
            "geef akkoord of wijs af in plaats van zelf voor te stellen"
        )
    if t.status not in OPEN:
        raise OngeldigeStap(f"samenwerking voorstellen kan niet: de match is {_tekst(t.status)}")
    return Toestand(Status.SAMENWERKING_VOORGESTELD, regie, eigen)


def geef_akkoord(t: Toestand, eigen: str) -> Toestand:
    if t.status != Status.SAMENWERKING_VOORGESTELD:
        raise OngeldigeStap(f"akkoord geven kan alleen op een voorstel; de match is {_tekst(t.status)}")
    if t.voorgesteld_door == eigen:
        raise OngeldigeStap("dit is het voorstel van uw eigen regio; de andere regio moet akkoord geven")
    return replace(t, status=Status.SAMENWERKING)


def wijs_af(t: Toestand, reden: str) -> Toestand:
    if t.status in EIND or t.status == Status.SAMENWERKING:
        raise OngeldigeStap(f"afwijzen kan niet meer: de match is {_tekst(t.status)}")
    return Toestand(Status.AFGEWEZEN, reden=reden)


def mag_bericht(t: Toestand) -> None:
    if t.status in EIND:
        raise OngeldigeStap(f"een bericht sturen kan niet meer: de match is {_tekst(t.status)}")


# -- the other region's messages ---------------------------------------------


def ontvang_voorstel(t: Toestand, eigen: str, ander: str, regie: str) -> Toestand:
    if regie not in (eigen, ander):
        return t
    if t.status in OPEN:
        return Toestand(Status.SAMENWERKING_VOORGESTELD, regie, ander)
    if t.status == Status.SAMENWERKING_VOORGESTELD and t.voorgesteld_door == eigen:
        if t.regie == regie:
            return Toestand(Status.SAMENWERKING, regie, min(eigen, ander))
        winnaar = min(eigen, ander)
        return t if winnaar == eigen else Toestand(Status.SAMENWERKING_VOORGESTELD, regie, ander)
    return t


def ontvang_akkoord(t: Toestand, eigen: str) -> Toestand:
    if t.status == Status.SAMENWERKING_VOORGESTELD and t.voorgesteld_door == eigen:
        return replace(t, status=Status.SAMENWERKING)
    return t


def ontvang_afwijzing(t: Toestand, reden: str) -> Toestand:
    if t.status == Status.GESLOTEN:
        return t
    return Toestand(Status.AFGEWEZEN, reden=reden)


def sluit(t: Toestand) -> Toestand:
    return replace(t, status=Status.GESLOTEN)
