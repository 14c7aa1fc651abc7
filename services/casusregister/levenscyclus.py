"""The lifecycle of a casus: AANGEMELD -> IN_BEHANDELING -> AFGESCHAALD | AFGESLOTEN.

A referral that is not taken on is closed straight from AANGEMELD
(Afsluiten with reden NIET_OPGEPAKT). AFGESCHAALD and AFGESLOTEN are final:
the ZVH's involvement has ended and the bewaartermijn starts.
"""

from __future__ import annotations

from gedeeld.fouten import PreconditionError
from gedeeld.zvh.v1 import casus_pb2

S = casus_pb2

NAMEN: dict[int, str] = {
    S.CASUS_STATUS_AANGEMELD: "AANGEMELD",
    S.CASUS_STATUS_IN_BEHANDELING: "IN_BEHANDELING",
    S.CASUS_STATUS_AFGESCHAALD: "AFGESCHAALD",
    S.CASUS_STATUS_AFGESLOTEN: "AFGESLOTEN",
}

OVERGANGEN: dict[int, frozenset[int]] = {
    S.CASUS_STATUS_AANGEMELD: frozenset({S.CASUS_STATUS_IN_BEHANDELING, S.CASUS_STATUS_AFGESLOTEN}),
    S.CASUS_STATUS_IN_BEHANDELING: frozenset({S.CASUS_STATUS_AFGESCHAALD, S.CASUS_STATUS_AFGESLOTEN}),
    S.CASUS_STATUS_AFGESCHAALD: frozenset(),
    S.CASUS_STATUS_AFGESLOTEN: frozenset(),
}

EINDSTATUSSEN = frozenset({S.CASUS_STATUS_AFGESCHAALD, S.CASUS_STATUS_AFGESLOTEN})
ACTIEF = frozenset({S.CASUS_STATUS_AANGEMELD, S.CASUS_STATUS_IN_BEHANDELING})


def controleer_overgang(huidig: int, nieuw: int) -> None:
    if nieuw not in OVERGANGEN.get(huidig, frozenset()):
        toegestaan = ", ".join(NAMEN[s] for s in sorted(OVERGANGEN.get(huidig, frozenset())))
        raise PreconditionError(
            f"statusovergang {NAMEN.get(huidig, '?')} -> {NAMEN.get(nieuw, '?')} is niet toegestaan"
            + (f"; mogelijk: {toegestaan}" if toegestaan else "; de casus is afgerond")
        )
