"""Every federation subject, stream and durable consumer, from one table.

    subject                              publishes            stream (hub, account FED)  consumer
    zvh.signaal.<afzender>               afzender only        SIGNALEN                   durable <code>
    zvh.treffer.<ontvanger>.<afzender>   any, as itself       TREFFER_<ONTVANGER>        durable <ontvanger>
    zvh.overleg.<ontvanger>.<afzender>   any, as itself       OVERLEG_<ONTVANGER>        durable <ontvanger>
    zvh.oprf.<houder>                    any (request)        — (core request/reply)
    zvh.vraag.<ontvanger>                any (request)        — (core request/reply)
    zvh.dkg.<ronde>.<afzender>           afzender only        — (request to the beheerder; the reply
                                         (request)              is the phase's signed bundle)

The sending region is part of every JetStream subject, and on the hub a region can only publish
under its own code (nats-server enforces it: a region's account exports exactly those subjects), so
a receiver knows who sent a message from its subject before it opens the signature, and the hub
can bound what each sender may store (``max_msgs_per_subject``: a flood pushes out only the
flooder's own older messages). Receivers still check that the subject's sender is the signer.

Streams and consumers are created from these specifications by the hub's operators
(``zvhctl federatie nats-stromen``) and, in the embedded default, by the node itself.

Inside one region, the services meet on the region-local stream ``REGIO_<R>`` (the region's own
leaf or nats-server; never on the hub):

    subject                              published by         read by
    regio.<r>.casus.<soort>              casusregister        signalering, trendradar
    regio.<r>.match.<soort>              signalering          samenwerking, trendradar
    regio.<r>.signaal.<soort>            signalering          samenwerking
    regio.<r>.samenwerking.<soort>       samenwerking         trendradar
    regio.<r>.dood.<stroom>              any consumer         operators (dead letters)

Each is written through the publishing service's outbox in the transaction that records the
change, with ``Nats-Msg-Id`` = the event's id, so every event lands once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from nats.js.api import AckPolicy, ConsumerConfig, DiscardPolicy, StreamConfig

Soort = Literal["signaal", "treffer", "overleg", "trend"]

SIGNALEN = "SIGNALEN"
TRENDS = "TRENDS"  # the trend radar's releases (docs/trendradar.md), kept without an age limit
DOOD = "DOOD"  # dead letters: the hub's record of messages a consumer gave up on
MAX_BERICHT = 64 * 1024  # bytes; a federation message (signed envelope) is never larger
DUPLICATE_WINDOW = 3600.0  # seconds; a republished message id within it is dropped by JetStream
MAX_AGE = timedelta(days=14)

# Per sender, at most this many messages are kept in a stream (older ones make way: only the
# sender's own). Sized from use: a region signals tens of cases a day, an onboarding thousands.
MAX_PER_AFZENDER: dict[Soort, int] = {"signaal": 20_000, "treffer": 5_000, "overleg": 5_000, "trend": 1_000}

# A message a consumer fails on this often is given up (recorded in DOOD, counted, alerted).
# Transient failures are retried with a growing delay (``opnieuw_na``), so this spans hours.
MAX_AFLEVERINGEN = 30
ACK_WACHTTIJD = 30.0  # seconds
MAX_ACK_WACHTEND = 1000

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


def _code(regio: str) -> str:
    if not _CODE.match(regio):
        raise ValueError(f"invalid region code {regio!r}")
    return regio


def signaal(afzender: str) -> str:
    return f"zvh.signaal.{_code(afzender)}"


def treffer(ontvanger: str, afzender: str) -> str:
    return f"zvh.treffer.{_code(ontvanger)}.{_code(afzender)}"


def overleg(ontvanger: str, afzender: str) -> str:
    return f"zvh.overleg.{_code(ontvanger)}.{_code(afzender)}"


def oprf(houder: str) -> str:
    return f"zvh.oprf.{_code(houder)}"


def vraag(ontvanger: str) -> str:
    return f"zvh.vraag.{_code(ontvanger)}"


_RONDE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def dkg_ronde(ronde: str) -> str:
    if not _RONDE.match(ronde):
        raise ValueError(f"invalid DKG round id {ronde!r}")
    return ronde


def dkg(ronde: str, afzender: str) -> str:
    """A region's message in a DKG round, to the beheerder (docs/sleutelceremonie.md)."""
    return f"zvh.dkg.{dkg_ronde(ronde)}.{_code(afzender)}"


def dkg_alle(ronde: str) -> str:
    """What the beheerder subscribes to for one round."""
    return f"zvh.dkg.{dkg_ronde(ronde)}.*"


def trend(afzender: str) -> str:
    return f"zvh.trend.{_code(afzender)}"


def van(soort: Literal["treffer", "overleg"], afzender: str) -> str:
    """Everything of this kind a region sends, to any region (its hub permissions)."""
    return f"zvh.{soort}.*.{_code(afzender)}"


def dkg_van(afzender: str) -> str:
    """A region's requests to the beheerder in any DKG round."""
    return f"zvh.dkg.*.{_code(afzender)}"


def alle(soort: Literal["signaal", "trend", "oprf", "vraag"]) -> str:
    """Every region's subject of this kind: signals, trend releases, or the request services."""
    return f"zvh.{soort}.*"


def inbox_filter(soort: Soort, ontvanger: str) -> str:
    """What a region's consumer reads: every region's signals, or what is addressed to it."""
    if soort in ("signaal", "trend"):
        return alle(soort)
    return f"zvh.{soort}.{_code(ontvanger)}.*"


def afzender(soort: Soort, subject: str, *, ontvanger: str | None = None) -> str | None:
    """The sending region a subject names, or None when the subject is not of this kind (or, for
    treffer/overleg, not addressed to ``ontvanger``)."""
    delen = subject.split(".")
    if soort in ("signaal", "trend"):
        if len(delen) != 3 or delen[:2] != ["zvh", soort]:
            return None
        code = delen[2]
    else:
        if len(delen) != 4 or delen[:2] != ["zvh", soort]:
            return None
        if ontvanger is not None and delen[2] != ontvanger:
            return None
        code = delen[3]
    return code if _CODE.match(code) else None


Bron = Literal["casus", "match", "signaal", "samenwerking"]
REGIO_DUPLICATE_WINDOW = timedelta(hours=24)


def regiostroom(regio: str) -> str:
    """The region-local event stream: ``REGIO_WVV``."""
    return f"REGIO_{regio.upper()}"


def gebeurtenis(regio: str, bron: Bron, soort: str) -> str:
    """One kind of event of one service inside the region: ``regio.wvv.match.gevonden``."""
    return f"regio.{regio}.{bron}.{soort}"


def gebeurtenissen(regio: str, bron: Bron) -> str:
    """What a consumer of one service's events reads: ``regio.wvv.match.>``."""
    return f"regio.{regio}.{bron}.>"


def dode_brief(regio: str, stroomnaam: str) -> str:
    """Where a region keeps a message one of its consumers gave up on (gedeeld/nats/jetstream.py). Under
    ``regio.<r>.``: captured by the region-local stream REGIO_<R> and never exported by the leaf."""
    return f"regio.{regio}.dood.{stroomnaam}"


def regiostroom_config(regio: str, max_age: timedelta) -> StreamConfig:
    return StreamConfig(
        name=regiostroom(regio),
        subjects=[f"regio.{regio}.>"],
        max_age=max_age.total_seconds(),
        duplicate_window=REGIO_DUPLICATE_WINDOW.total_seconds(),
    )


def stroom(soort: str, regio: str) -> str:
    """A region's inbound stream: ``TREFFER_WVV``, ``OVERLEG_DEN_BOSCH``."""
    return f"{soort.upper()}_{_code(regio).upper().replace('-', '_')}"


@dataclass(frozen=True)
class Stroomspec:
    """One federation stream: its name, subjects and the per-sender bound."""

    naam: str
    soort: Soort
    subjects: tuple[str, ...]
    max_per_afzender: int
    altijd_bewaren: bool = False  # no age limit (the trend releases are the record)

    def config(
        self,
        *,
        max_age: timedelta = MAX_AGE,
        replicas: int = 1,
        afzenders: int = 1,
        bytes_begrensd: bool = True,
    ) -> StreamConfig:
        """``afzenders``: how many regions may publish into it (sizes ``max_bytes`` so that the
        per-sender bounds, not the stream's total, are what a flood runs into).
        ``bytes_begrensd`` False: no ``max_bytes``, for the embedded single nats-server, whose
        JetStream reserves every stream's ``max_bytes`` on disk up front (at 10 regions more than
        a test machine has); the per-sender message bounds still hold there."""
        return StreamConfig(
            name=self.naam,
            subjects=list(self.subjects),
            max_age=0 if self.altijd_bewaren else max_age.total_seconds(),
            duplicate_window=24 * 3600 if self.altijd_bewaren else DUPLICATE_WINDOW,
            max_msg_size=MAX_BERICHT,
            max_msgs_per_subject=self.max_per_afzender,
            max_bytes=self.max_per_afzender * MAX_BERICHT * max(1, afzenders) if bytes_begrensd else -1,
            discard=DiscardPolicy.OLD,
            num_replicas=replicas,
        )


def signalen() -> Stroomspec:
    return Stroomspec(SIGNALEN, "signaal", (alle("signaal"),), MAX_PER_AFZENDER["signaal"])


def trends() -> Stroomspec:
    return Stroomspec(TRENDS, "trend", (alle("trend"),), MAX_PER_AFZENDER["trend"], altijd_bewaren=True)


def inbox(soort: Literal["treffer", "overleg"], ontvanger: str) -> Stroomspec:
    return Stroomspec(
        stroom(soort, ontvanger), soort, (inbox_filter(soort, ontvanger),), MAX_PER_AFZENDER[soort]
    )


def stromen(regios: Sequence[str]) -> list[Stroomspec]:
    """Every federation stream for these regions: SIGNALEN, TRENDS, and per region TREFFER_ and
    OVERLEG_."""
    specs = [signalen(), trends()]
    for r in regios:
        specs += [inbox("treffer", r), inbox("overleg", r)]
    return specs


@dataclass(frozen=True)
class Consumentspec:
    """A region's durable pull consumer on a federation stream."""

    stroom: str
    durable: str
    filter: str

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            filter_subject=self.filter,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ACK_WACHTTIJD,
            max_deliver=MAX_AFLEVERINGEN,
            max_ack_pending=MAX_ACK_WACHTEND,
        )


def consumenten(regio: str) -> list[Consumentspec]:
    """The durable consumers a region reads the federation with (its code is the name)."""
    return [
        Consumentspec(SIGNALEN, _code(regio), inbox_filter("signaal", regio)),
        Consumentspec(TRENDS, regio, inbox_filter("trend", regio)),
        Consumentspec(stroom("treffer", regio), regio, inbox_filter("treffer", regio)),
        Consumentspec(stroom("overleg", regio), regio, inbox_filter("overleg", regio)),
    ]


def consument(stroomnaam: str, regio: str) -> Consumentspec:
    for c in consumenten(regio):
        if c.stroom == stroomnaam:
            return c
    raise KeyError(stroomnaam)


def dood_subjects(regios: Iterable[str]) -> list[str]:
    """The hub's advisories for messages a region's consumer gave up on (max deliveries reached, or
    terminated as refused): the DOOD stream keeps them, with the stream sequence of the message."""
    subjects = []
    for r in regios:
        for c in consumenten(r):
            subjects += [
                f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{c.stroom}.{c.durable}",
                f"$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{c.stroom}.{c.durable}",
            ]
    return subjects


def dood(regios: Sequence[str], *, max_age: timedelta = MAX_AGE, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=DOOD,
        subjects=dood_subjects(regios),
        max_age=max_age.total_seconds(),
        max_bytes=256 * 1024 * 1024,
        discard=DiscardPolicy.OLD,
        num_replicas=replicas,
    )
