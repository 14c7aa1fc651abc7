"""The DKG protocol: what a round's messages mean, independent of how they travel.

One ``Beoordeling`` is fed the round's signed start and then, phase by phase, the bundles of
signed region messages the beheerder relayed. Everyone runs the same code on the same public
data: the beheerder (to know whom to wait for and to build the registry), every region (to know
the qualified dealers and its own share), and ``zvhctl federatie verify --transcript`` afterwards.
So all of them reach the same verdict, and a beheerder that leaves out or alters a message is
caught by the signatures and the transcript hash in the registry.

Phases (GJKR, docs/sleutelceremonie.md):

0 sleutel     every participant: a fresh X25519 key for this round only
1 deling      every dealer: Pedersen commitments, one HPKE-encrypted share per receiver
2 klachten    every receiver: dealers whose share did not open their commitments
3 onthulling  every accused dealer: the disputed shares in clear; a dealer that does not, or whose
              revealed share fails, is disqualified (and, for a new key, excluded as a region)
4 feldman     every qualified dealer: A_k = a_k·G (a resharing dealer's A_0 must be its old k_i·G)
5 bevestiging every receiver: k·G as it computed it, and any share that fails the Feldman check

A new key whose qualified dealer fails phase 4 or 5 is not repaired in place (GJKR would
reconstruct that dealer's secret in public): the round fails naming the dealer, and the
beheerder starts a new round without it. A resharing simply drops such a dealer while the
old threshold of dealers remains, since the key is fixed and cannot be biased.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from gedeeld.crypto import dkg as wiskunde
from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel, verifieer
from gedeeld.crypto.shamir import lagrange
from gedeeld.federatie.bericht import BerichtFout, lees_als, open_bericht
from gedeeld.federatie.ceremonie import Deelnemer
from gedeeld.federatie.register import MIN_DREMPEL, Federatie, RegisterFout, lees, teken_register
from gedeeld.fouten import CryptoError, ZvhError
from gedeeld.zvh.v1 import dkg_pb2 as D
from gedeeld.zvh.v1 import federatie_pb2 as F

START_DOMEIN = b"zvh-dkg-start-v1"
BUNDEL_DOMEIN = b"zvh-dkg-bundel-v1"
DEEL_INFO = b"zvh-dkg-deel-v1"
MAX_BERICHT = 256 * 1024
FASEN = ("sleutel", "deling", "klachten", "onthulling", "feldman", "bevestiging")
_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_RONDE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_M = TypeVar("_M", bound=Message)


class DkgFout(ZvhError):
    """A DKG round failed, or its start, bundle or transcript does not verify."""


def soort(fase: int) -> str:
    return f"dkg-{FASEN[fase]}"


def deel_info(ronde: str, dealer: str, ontvanger: str) -> bytes:
    return b"\x00".join((DEEL_INFO, ronde.encode(), dealer.encode(), ontvanger.encode()))


@dataclass(frozen=True)
class Ondertekenaar:
    """A participant's signing key (for ``open_bericht``)."""

    ondertekensleutel: bytes


@dataclass(frozen=True)
class Dealer:
    code: str
    index: int  # for a new key: its receiver index; for a resharing: its index in the old registry
    publiek_deel: Element | None  # resharing: the old k_i·G its A_0 must equal


@dataclass(frozen=True)
class Ronde:
    """A verified start."""

    ronde_id: str
    herverdeling: bool
    epoch: int
    generatie: int
    drempel: int
    ontvangers: Mapping[str, int]  # code -> new index
    dealers: Mapping[str, Dealer]
    regios: Mapping[str, Ondertekenaar]  # everyone who signs in this round
    vorige: Federatie | None
    geldig_tot: datetime
    fase_seconden: int
    ondertekend: bytes  # the signed start as the beheerder sent it
    beheerder_sleutel: bytes

    @property
    def deelnemers(self) -> set[str]:
        return set(self.ontvangers) | set(self.dealers)


def start(
    regios: Sequence[Deelnemer],
    drempel: int,
    beheerder: Ondertekensleutel,
    *,
    epoch: int = 1,
    vorig_register: bytes = b"",
    zonder: Sequence[str] = (),
    ronde_id: str | None = None,
    geldig: timedelta = timedelta(days=730),
    fase_seconden: int = 60,
    nu: datetime | None = None,
) -> bytes:
    """The beheerder's signed start of a round: a new key (no ``vorig_register``) or a resharing
    of the key in ``vorig_register`` to ``regios`` (indices 1..n in the order given), without the
    old holders in ``zonder`` dealing."""
    if vorig_register:
        vorige = lees(vorig_register, beheerder.publiek, nu=nu)
        soort_, epoch, generatie = D.DKG_SOORT_HERVERDELING, vorige.epoch, vorige.generatie + 1
    else:
        soort_, generatie = D.DKG_SOORT_NIEUW, 0
    s = D.DkgStart(
        ronde_id=ronde_id or f"e{epoch}-g{generatie}-{secrets.token_hex(4)}",
        soort=soort_,
        epoch=epoch,
        generatie=generatie,
        drempel=drempel,
        vorig_register=vorig_register,
        fase_seconden=fase_seconden,
        zonder=zonder,
    )
    s.geldig_tot.FromDatetime((nu or datetime.now(UTC)) + geldig)
    for i, r in enumerate(regios, start=1):
        s.ontvangers.add(code=r.code, ondertekensleutel=r.ondertekensleutel, index=i)
    data = onderteken_start(s, beheerder)
    lees_start(data, beheerder.publiek)  # what we send must verify
    return data


def onderteken_start(start: D.DkgStart, beheerder: Ondertekensleutel) -> bytes:
    inhoud = start.SerializeToString(deterministic=True)
    return D.DkgOndertekendeStart(
        start=inhoud,
        beheerder_sleutel=beheerder.publiek,
        handtekening=beheerder.onderteken(START_DOMEIN, inhoud),
    ).SerializeToString()


def lees_start(data: bytes, vertrouwde_beheerder: bytes, *, geldigheid: bool = True) -> Ronde:
    """Verify the beheerder's signature and the round's parameters. ``geldigheid`` False: accept
    an expired previous registry (to replay an old transcript)."""
    try:
        env = D.DkgOndertekendeStart.FromString(data)
        start = D.DkgStart.FromString(env.start)
    except DecodeError:
        raise DkgFout("not a DKG start") from None
    if env.beheerder_sleutel != vertrouwde_beheerder:
        raise DkgFout("the round was started by another beheerder key than the trusted one")
    try:
        verifieer(env.beheerder_sleutel, START_DOMEIN, env.start, env.handtekening)
    except CryptoError:
        raise DkgFout("the start's signature does not verify") from None
    if not _RONDE.match(start.ronde_id):
        raise DkgFout("invalid round id")
    if start.drempel < MIN_DREMPEL or start.drempel > len(start.ontvangers):
        raise DkgFout(f"threshold {start.drempel} must be at least {MIN_DREMPEL} and at most the receivers")
    ontvangers: dict[str, int] = {}
    regios: dict[str, Ondertekenaar] = {}
    for o in start.ontvangers:
        if not _CODE.match(o.code) or o.code in ontvangers or not 0 < o.index < 256:
            raise DkgFout(f"invalid or repeated receiver {o.code!r}")
        if len(o.ondertekensleutel) != 32:
            raise DkgFout(f"receiver {o.code}: signing key must be 32 bytes")
        ontvangers[o.code] = o.index
        regios[o.code] = Ondertekenaar(o.ondertekensleutel)
    if len(set(ontvangers.values())) != len(ontvangers):
        raise DkgFout("receiver indices must be distinct")
    vorige = None
    if start.soort == D.DKG_SOORT_NIEUW:
        if start.epoch < 1 or start.generatie != 0 or start.vorig_register or start.zonder:
            raise DkgFout("a new key starts generation 0 of an epoch >= 1, without a previous registry")
        dealers = {c: Dealer(c, i, None) for c, i in ontvangers.items()}
    elif start.soort == D.DKG_SOORT_HERVERDELING:
        try:
            vorige = lees(start.vorig_register, vertrouwde_beheerder, geldigheid=geldigheid)
        except RegisterFout as exc:
            raise DkgFout(f"the previous registry: {exc.message}") from None
        if start.epoch != vorige.epoch or start.generatie != vorige.generatie + 1:
            raise DkgFout("a resharing keeps the epoch and takes the next generation")
        dealers = {}
        zonder = set(start.zonder)
        if not zonder <= set(vorige.regios) or zonder & set(ontvangers):
            raise DkgFout("only holders of the previous registry that receive nothing can be left out")
        for r in vorige.regios.values():
            if r.code in zonder:
                continue
            if r.code in regios and regios[r.code].ondertekensleutel != r.ondertekensleutel:
                raise DkgFout(f"{r.code} has another signing key than in the previous registry")
            regios[r.code] = Ondertekenaar(r.ondertekensleutel)
            dealers[r.code] = Dealer(r.code, r.index, r.commitment)
    else:
        raise DkgFout("unknown kind of round")
    return Ronde(
        ronde_id=start.ronde_id,
        herverdeling=vorige is not None,
        epoch=start.epoch,
        generatie=start.generatie,
        drempel=start.drempel,
        ontvangers=ontvangers,
        dealers=dealers,
        regios=regios,
        vorige=vorige,
        geldig_tot=start.geldig_tot.ToDatetime(tzinfo=UTC),
        fase_seconden=start.fase_seconden or 30,
        ondertekend=data,
        beheerder_sleutel=env.beheerder_sleutel,
    )


def onderteken_bundel(bundel: D.DkgBundel, beheerder: Ondertekensleutel) -> bytes:
    inhoud = bundel.SerializeToString(deterministic=True)
    return D.DkgOndertekendeBundel(
        bundel=inhoud, handtekening=beheerder.onderteken(BUNDEL_DOMEIN, inhoud)
    ).SerializeToString()


def lees_bundel(data: bytes, beheerder_sleutel: bytes) -> D.DkgBundel:
    try:
        env = D.DkgOndertekendeBundel.FromString(data)
        verifieer(beheerder_sleutel, BUNDEL_DOMEIN, env.bundel, env.handtekening)
        return D.DkgBundel.FromString(env.bundel)
    except (DecodeError, CryptoError):
        raise DkgFout("a bundle that the beheerder did not sign") from None


@dataclass
class Beoordeling:
    """The public state of one round, advanced one phase at a time (see the module docstring)."""

    ronde: Ronde
    fase: int = 0
    sleutels: dict[str, bytes] = field(default_factory=dict)  # round HPKE keys of receivers
    aangemeld: set[str] = field(default_factory=set)
    pedersen: dict[str, tuple[Element, ...]] = field(default_factory=dict)
    enveloppen: dict[str, dict[str, bytes]] = field(default_factory=dict)  # dealer -> receiver -> env
    klachten: dict[str, set[str]] = field(default_factory=dict)  # receiver -> dealers
    onthuld: dict[str, dict[str, wiskunde.OpenDeel]] = field(default_factory=dict)  # dealer -> receiver
    uitgesloten: dict[str, str] = field(default_factory=dict)  # dealer -> reason
    feldman: dict[str, tuple[Element, ...]] = field(default_factory=dict)
    bevestigd: set[str] = field(default_factory=set)
    publieke_delen: dict[str, Element] = field(default_factory=dict)
    sleutel: Element | None = None
    fout: str | None = None
    berichten: list[list[bytes]] = field(default_factory=list)  # as relayed, per phase

    # -- who is expected to speak in the current phase --------------------------------------
    def verwacht(self) -> set[str]:
        r = self.ronde
        return {
            0: r.deelnemers,
            1: {d for d in r.dealers if d in self.aangemeld},
            2: set(self.ontvangers()),
            3: self.beschuldigd(),
            4: set(self.qual()),
            5: set(self.ontvangers()),
        }.get(self.fase, set())

    def ontvangers(self) -> dict[str, int]:
        """Receivers still in the round: for a new key, a disqualified dealer is out entirely."""
        r = self.ronde
        if r.herverdeling:
            return dict(r.ontvangers)
        return {c: i for c, i in r.ontvangers.items() if c not in self.uitgesloten}

    def beschuldigd(self) -> set[str]:
        return {d for tegen in self.klachten.values() for d in tegen}

    def qual(self) -> list[str]:
        """Qualified dealers, by index."""
        return sorted(
            (d for d in self.pedersen if d not in self.uitgesloten), key=lambda d: self.ronde.dealers[d].index
        )

    def gewichten(self) -> dict[int, Scalar]:
        return wiskunde.gewichten((self.ronde.dealers[d].index for d in self.qual()), self.ronde.herverdeling)

    def houders(self) -> dict[str, int]:
        """Who ends up with a share: receivers still in that confirmed the result."""
        return {c: i for c, i in self.ontvangers().items() if c in self.bevestigd}

    # -- one phase ----------------------------------------------------------------------------
    def verwerk(self, berichten: Sequence[bytes]) -> None:
        """Apply one phase's relayed messages. Invalid ones are ignored (as if never sent);
        two messages from one region in one phase make the bundle invalid."""
        if self.fout is not None or self.fase >= len(FASEN):
            raise DkgFout("the round is over")
        verwacht = self.verwacht()
        geopend: dict[str, bytes] = {}
        for data in berichten:
            try:
                g = open_bericht(data, self.ronde, soort(self.fase), MAX_BERICHT)
            except BerichtFout:
                continue
            if g.afzender in geopend:
                raise DkgFout(f"two messages from {g.afzender} in phase {FASEN[self.fase]}")
            if g.afzender in verwacht:
                geopend[g.afzender] = g.inhoud
        self.berichten.append(list(berichten))
        stap = (
            self._sleutel,
            self._deling,
            self._klachten,
            self._onthulling,
            self._feldman,
            self._bevestiging,
        )
        stap[self.fase](geopend)
        self.fase += 1

    def _lees(self, cls: type[_M], inhoud: bytes) -> _M | None:
        """A phase's message, or None (as if never sent) when it is not one of this round."""
        try:
            m = lees_als(inhoud, cls)
        except BerichtFout:
            return None
        return m if getattr(m, "ronde_id") == self.ronde.ronde_id else None  # noqa: B009

    def _elementen(self, data: Sequence[bytes]) -> tuple[Element, ...] | None:
        if len(data) != self.ronde.drempel:
            return None
        try:
            return tuple(Element.lees(e) for e in data)
        except CryptoError:
            return None

    def _sleutel(self, geopend: Mapping[str, bytes]) -> None:
        for code, inhoud in geopend.items():
            m = self._lees(D.DkgSleutel, inhoud)
            if m is None:
                continue
            if code in self.ronde.ontvangers:
                if len(m.hpke_sleutel) != 32:
                    continue
                self.sleutels[code] = m.hpke_sleutel
            self.aangemeld.add(code)
        ontbreekt = sorted(set(self.ronde.ontvangers) - set(self.sleutels))
        if ontbreekt:
            self.fout = f"receivers did not take part: {', '.join(ontbreekt)}"

    def _deling(self, geopend: Mapping[str, bytes]) -> None:
        for code in self.verwacht():
            m = self._lees(D.DkgDeling, geopend[code]) if code in geopend else None
            if m is None:
                self.uitgesloten[code] = "no valid dealing"
                continue
            commitments = self._elementen(m.commitments)
            env = {d.ontvanger: d.envelop for d in m.delen}
            if commitments is None or len(m.delen) != len(env) or set(env) != set(self.ronde.ontvangers):
                self.uitgesloten[code] = "malformed dealing"
                continue
            self.pedersen[code] = commitments
            self.enveloppen[code] = env
        self._genoeg()

    def _klachten(self, geopend: Mapping[str, bytes]) -> None:
        for code, inhoud in geopend.items():
            m = self._lees(D.DkgKlachten, inhoud)
            if m is not None:
                self.klachten[code] = {d for d in m.tegen if d in self.pedersen}

    def _onthulling(self, geopend: Mapping[str, bytes]) -> None:
        for dealer in sorted(self.verwacht()):
            m = self._lees(D.DkgOnthulling, geopend[dealer]) if dealer in geopend else None
            open_: dict[str, wiskunde.OpenDeel] = {}
            for d in m.delen if m is not None else ():
                try:
                    open_[d.regio] = wiskunde.OpenDeel.lees(d.s + d.s_accent)
                except CryptoError:
                    continue
            for ontvanger, tegen in self.klachten.items():
                if dealer not in tegen:
                    continue
                deel = open_.get(ontvanger)
                try:
                    if deel is None:
                        raise wiskunde.OngeldigDeel("not revealed")
                    wiskunde.controleer_pedersen(
                        self.ronde.ontvangers[ontvanger], deel, self.pedersen[dealer]
                    )
                except wiskunde.OngeldigDeel:
                    self.uitgesloten[dealer] = f"justified complaint by {ontvanger}"
                    break
                self.onthuld.setdefault(dealer, {})[ontvanger] = deel
        self._genoeg()

    def _feldman(self, geopend: Mapping[str, bytes]) -> None:
        for dealer in self.qual():
            m = self._lees(D.DkgFeldman, geopend[dealer]) if dealer in geopend else None
            a = self._elementen(m.commitments) if m is not None else None
            reden = None
            if a is None:
                reden = "no valid Feldman commitments"
            elif self.ronde.herverdeling and a[0] != self.ronde.dealers[dealer].publiek_deel:
                reden = "dealt another value than its share of the key"
            else:
                for ontvanger, deel in self.onthuld.get(dealer, {}).items():
                    try:
                        wiskunde.controleer_feldman(self.ronde.ontvangers[ontvanger], deel.s, a)
                    except wiskunde.OngeldigDeel:
                        reden = f"Feldman commitments contradict the share revealed to {ontvanger}"
            if reden is not None:
                self._val_af(dealer, reden)
                if self.fout is not None:
                    return
            elif a is not None:
                self.feldman[dealer] = a
        self._bereken()

    def _bevestiging(self, geopend: Mapping[str, bytes]) -> None:
        gemeld: dict[str, str] = {}
        for code, inhoud in geopend.items():
            m = self._lees(D.DkgBevestiging, inhoud)
            if m is None:
                continue
            for k in m.klachten:
                if k.regio not in self.feldman:
                    continue
                try:
                    deel = wiskunde.OpenDeel.lees(k.s + k.s_accent)
                    j = self.ronde.ontvangers[code]
                    wiskunde.controleer_pedersen(j, deel, self.pedersen[k.regio])
                except (CryptoError, KeyError):
                    continue  # not a proof: the complainer is wrong, not the dealer
                try:
                    wiskunde.controleer_feldman(j, deel.s, self.feldman[k.regio])
                except wiskunde.OngeldigDeel:
                    gemeld[k.regio] = f"its share to {code} contradicts its Feldman commitments"
            if self.sleutel is not None and m.sleutel_commitment == self.sleutel.data:
                self.bevestigd.add(code)
        for dealer, reden in sorted(gemeld.items()):
            self._val_af(dealer, reden)
            if self.fout is not None:
                return
        if gemeld:
            self._bereken()
        if len(self.houders()) < self.ronde.drempel:
            self.fout = f"only {len(self.houders())} receivers confirmed; threshold {self.ronde.drempel}"

    def _val_af(self, dealer: str, reden: str) -> None:
        self.uitgesloten[dealer] = reden
        self.feldman.pop(dealer, None)
        if not self.ronde.herverdeling:
            self.fout = f"qualified dealer {dealer} failed ({reden}); start a new round without it"
        else:
            self._genoeg()

    def _genoeg(self) -> None:
        if self.ronde.herverdeling:
            nodig = self.ronde.vorige.drempel if self.ronde.vorige is not None else 0
            if len(self.qual()) < nodig:
                self.fout = f"only {len(self.qual())} qualified holders of the old shares; {nodig} needed"
        elif len(self.ontvangers()) < self.ronde.drempel:
            self.fout = f"only {len(self.ontvangers())} regions left; threshold {self.ronde.drempel}"

    def _bereken(self) -> None:
        w = self.gewichten()
        a = {self.ronde.dealers[d].index: self.feldman[d] for d in self.qual()}
        self.sleutel = wiskunde.sleutel_commitment(a, w)
        self.publieke_delen = {c: wiskunde.publiek_deel(j, a, w) for c, j in self.ontvangers().items()}
        vorige = self.ronde.vorige
        if vorige is not None and self.sleutel != _sleutel_van(vorige):
            self.fout = "the reshared key differs from the previous one"  # cannot happen: A_0 checked

    # -- the result ---------------------------------------------------------------------------
    def transcript(self) -> bytes:
        t = D.DkgTranscript(start=self.ronde.ondertekend)
        for fase, berichten in enumerate(self.berichten):
            t.bundels.append(D.DkgBundel(ronde_id=self.ronde.ronde_id, fase=fase, berichten=berichten))
        return t.SerializeToString(deterministic=True)

    def register(
        self, regios: Mapping[str, Deelnemer], beheerder: Ondertekensleutel, nu: datetime | None = None
    ) -> bytes:
        """The signed registry of the share holders (the beheerder, after phase 5)."""
        if self.fout is not None or self.fase != len(FASEN) or self.sleutel is None:
            raise DkgFout(self.fout or "the round is not finished")
        r = self.ronde
        reg = F.Federatieregister(
            epoch=r.epoch,
            drempel=r.drempel,
            generatie=r.generatie,
            vorige_epoch=r.epoch - 1,
            sleutel_commitment=self.sleutel.data,
            transcript_sha256=hashlib.sha256(self.transcript()).digest(),
        )
        reg.aangemaakt_op.FromDatetime(nu or datetime.now(UTC))
        reg.geldig_tot.FromDatetime(r.geldig_tot)
        for code, index in sorted(self.houders().items(), key=lambda x: x[1]):
            d = regios.get(code)
            if d is None or d.code != code or d.ondertekensleutel != r.regios[code].ondertekensleutel:
                raise DkgFout(f"no registry entry (or another signing key) for {code}")
            reg.regios.append(d.inschrijving(index, self.publieke_delen[code].data))
        return teken_register(reg, beheerder)

    def controleer_register(self, federatie: Federatie) -> None:
        """Raise DkgFout unless ``federatie`` is exactly what this round produced."""
        r = self.ronde
        if self.fout is not None or self.sleutel is None:
            raise DkgFout(self.fout or "the round is not finished")
        verwacht = {c: (i, self.publieke_delen[c]) for c, i in self.houders().items()}
        gekregen = {c: (x.index, x.commitment) for c, x in federatie.regios.items()}
        if (
            gekregen != verwacht
            or (federatie.epoch, federatie.generatie, federatie.drempel) != (r.epoch, r.generatie, r.drempel)
            or federatie.sleutel_commitment != self.sleutel
            or federatie.transcript_sha256 != hashlib.sha256(self.transcript()).digest()
            or any(x.ondertekensleutel != r.regios[c].ondertekensleutel for c, x in federatie.regios.items())
        ):
            raise DkgFout("the registry does not match the round's transcript")


def _sleutel_van(vorige: Federatie) -> Element:
    if vorige.sleutel_commitment is not None:
        return vorige.sleutel_commitment
    basis = sorted(vorige.regios.values(), key=lambda r: r.index)[: vorige.drempel]
    idx = [b.index for b in basis]
    return wiskunde.som(b.commitment.maal(lagrange(b.index, idx)) for b in basis)


def herspeel(transcript: bytes, federatie: Federatie) -> Beoordeling:
    """Replay a transcript against the registry it belongs to (``zvhctl federatie verify``)."""
    if hashlib.sha256(transcript).digest() != federatie.transcript_sha256:
        raise DkgFout("the transcript's hash is not the one in the registry")
    try:
        t = D.DkgTranscript.FromString(transcript)
    except DecodeError:
        raise DkgFout("not a DKG transcript") from None
    ronde = lees_start(t.start, federatie.beheerder_sleutel, geldigheid=False)
    b = Beoordeling(ronde)
    for fase, bundel in enumerate(t.bundels):
        if bundel.fase != fase or bundel.ronde_id != ronde.ronde_id:
            raise DkgFout("the transcript's bundles are out of order")
        b.verwerk(list(bundel.berichten))
    b.controleer_register(federatie)
    return b
