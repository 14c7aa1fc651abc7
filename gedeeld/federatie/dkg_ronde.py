"""DKG rounds over NATS: the beheerder's relay (``leid``) and one region's part (``Regiodeel``).

Each region sends its message of a phase as a request on ``zvh.dkg.<ronde>.<regio>`` (header
``Zvh-Dkg-Fase``); the reply, once the phase closes, is the phase's bundle: every region's
message, signed by the beheerder. A region with nothing to say in a phase sends an empty request
to wait for the bundle. The beheerder closes a phase when everyone expected has spoken or after
``fase_seconden``; whoever stayed silent is treated as the protocol says (``dkg.Beoordeling``).

Only one party holds a secret: the region. Its round X25519 key, its polynomials and the shares
it received live in memory for the round; what it keeps is its share of k, written to its key
directory (0600) after the registry checked out. Nothing here, or anywhere, computes k.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nats.errors
from google.protobuf.message import Message
from nats.aio.client import Client
from nats.aio.msg import Msg

from gedeeld.crypto.dkg import (
    Deling,
    OngeldigDeel,
    OpenDeel,
    combineer_deel,
    controleer_feldman,
    controleer_pedersen,
)
from gedeeld.crypto.envelop import Ontsleutelsleutel, verzegel
from gedeeld.crypto.groep import Scalar
from gedeeld.crypto.handtekening import Ondertekensleutel
from gedeeld.crypto.shamir import Sleuteldeel
from gedeeld.federatie.bericht import BerichtFout, onderteken, open_bericht
from gedeeld.federatie.ceremonie import Deelnemer
from gedeeld.federatie.dkg import (
    FASEN,
    MAX_BERICHT,
    Beoordeling,
    DkgFout,
    deel_info,
    lees_bundel,
    lees_start,
    onderteken_bundel,
    soort,
)
from gedeeld.federatie.register import Federatie, RegisterFout, deel_bestand, lees
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.fouten import CryptoError
from gedeeld.nats import onderwerpen
from gedeeld.nats.verzoek import Verzoeker
from gedeeld.zvh.v1 import dkg_pb2 as D

log = logging.getLogger("zvh.dkg")

FASE_HEADER = "Zvh-Dkg-Fase"
BEHEERDER = "beheerder"  # the answerer in reply inboxes: _INBOX.<regio>.beheerder.…


@dataclass(frozen=True)
class Resultaat:
    register: bytes
    transcript: bytes
    beoordeling: Beoordeling


async def leid(
    nc: Client,
    start: bytes,
    beheerder: Ondertekensleutel,
    regios: Mapping[str, Deelnemer],
    *,
    luistert: asyncio.Event | None = None,
) -> Resultaat:
    """Run one round as the beheerder: relay, close phases, sign the registry. Raises DkgFout when
    the round fails (after telling the regions why). ``luistert`` is set once regions can send."""
    ronde = lees_start(start, beheerder.publiek)
    b = Beoordeling(ronde)
    ontvangen: dict[int, dict[str, bytes]] = defaultdict(dict)
    bundels: dict[int, bytes] = {}
    wachtend: dict[int, list[str]] = defaultdict(list)
    compleet = asyncio.Event()

    async def bij_bericht(msg: Msg) -> None:
        afzender = msg.subject.rsplit(".", 1)[-1]
        try:
            fase = int((msg.headers or {}).get(FASE_HEADER, ""))
        except ValueError:
            return
        if not 0 <= fase < len(FASEN) or afzender not in ronde.deelnemers:
            return
        if msg.data and fase == b.fase and fase not in bundels and afzender in b.verwacht():
            try:
                # The signer must be the region the subject names (checked before the signature).
                open_bericht(msg.data, ronde, soort(fase), MAX_BERICHT, afzender=afzender)
            except BerichtFout as exc:
                log.warning(
                    "dkg message refused", extra={"regio": afzender, "fase": fase, "reden": exc.reden}
                )
            else:
                # The first message counts; a second, different one would be equivocation.
                if afzender not in ontvangen[fase]:
                    ontvangen[fase][afzender] = msg.data
                    if set(ontvangen[fase]) >= b.verwacht():
                        compleet.set()
        if not msg.reply:
            return
        if fase in bundels:
            await nc.publish(msg.reply, bundels[fase])
        elif len(wachtend[fase]) < 4 * len(ronde.deelnemers):  # retries, bounded
            wachtend[fase].append(msg.reply)

    sub = await nc.subscribe(onderwerpen.dkg_alle(ronde.ronde_id), cb=bij_bericht)
    await nc.flush()
    if luistert is not None:
        luistert.set()
    register = b""
    try:
        for fase in range(len(FASEN)):
            if not set(ontvangen[fase]) >= b.verwacht():
                compleet.clear()
                try:
                    async with asyncio.timeout(ronde.fase_seconden):
                        await compleet.wait()
                except TimeoutError:
                    stil = sorted(b.verwacht() - set(ontvangen[fase]))
                    log.warning("dkg phase closed without", extra={"fase": FASEN[fase], "regios": stil})
            berichten = [ontvangen[fase][c] for c in sorted(ontvangen[fase])]
            b.verwerk(berichten)
            bundel = D.DkgBundel(ronde_id=ronde.ronde_id, fase=fase, berichten=berichten, start=start)
            if b.fout is None and fase == len(FASEN) - 1:
                register = b.register(regios, beheerder)
                bundel.register = register
            if b.fout is not None:
                bundel.fout = b.fout
            data = onderteken_bundel(bundel, beheerder)
            # After a failure every later phase is answered with the failing bundle.
            for f in range(fase, len(FASEN)) if b.fout is not None else (fase,):
                bundels[f] = data
                for reply in wachtend.pop(f, []):
                    await nc.publish(reply, data)
            await nc.flush()
            log.info(
                "dkg phase closed",
                extra={"ronde": ronde.ronde_id, "fase": FASEN[fase], "berichten": len(berichten)},
            )
            if b.fout is not None:
                raise DkgFout(f"the round failed: {b.fout}")
    finally:
        await sub.unsubscribe()
    return Resultaat(register, b.transcript(), b)


class Regiodeel:
    """One region's part in a round (as dealer, receiver, or both)."""

    def __init__(
        self,
        nc: Client,
        code: str,
        sleutels: RegioSleutels,
        beheerder_sleutel: bytes,
        ronde_id: str,
        map_: Path,
        *,
        per_verzoek: float = 120.0,
        wacht: float = 3600.0,
    ) -> None:
        self._verzoeker = Verzoeker(nc, code)
        self._code = code
        self._sleutels = sleutels
        self._beheerder = beheerder_sleutel
        self._ronde_id = onderwerpen.dkg_ronde(ronde_id)
        self._map = map_
        self._per_verzoek = per_verzoek
        self._wacht = wacht  # in all: regions may start before the beheerder opens the round

    # Seams: the polynomials this dealer deals, and what it gives (and, when accused, reveals to)
    # one receiver. Tests override them to play a cheating region.
    def deling(self, drempel: int, geheim: Scalar | None) -> Deling:
        return Deling.nieuw(drempel, geheim)

    def deel_voor(self, deling: Deling, ontvanger: str, index: int) -> OpenDeel:
        return deling.deel(index)

    async def doe_mee(self) -> Federatie:
        """Take part until the registry is signed; returns it, with this region's share written
        to its key directory when it holds one. Raises DkgFout when the round fails."""
        try:
            return await self._doe_mee()
        finally:
            await self._verzoeker.stop()

    async def _doe_mee(self) -> Federatie:
        rondesleutel = Ontsleutelsleutel.nieuw()  # this round only; never written anywhere
        bundel = await self._stuur(
            0, D.DkgSleutel(ronde_id=self._ronde_id, hpke_sleutel=rondesleutel.publiek)
        )
        ronde = lees_start(bundel.start, self._beheerder)
        if ronde.ronde_id != self._ronde_id or self._code not in ronde.deelnemers:
            raise DkgFout(f"{self._code} does not take part in round {self._ronde_id}")
        b = Beoordeling(ronde)
        self._verwerk(b, bundel, 0)
        code = self._code

        deling: Deling | None = None
        deling_bericht = None
        if code in b.verwacht():
            geheim = None
            if ronde.vorige is not None:
                geheim = ronde.vorige.laad_sleuteldeel(code, self._sleutels.hpke, self._map).waarde
            deling = self.deling(ronde.drempel, geheim)
            deling_bericht = D.DkgDeling(
                ronde_id=ronde.ronde_id, commitments=[c.data for c in deling.pedersen()]
            )
            for o, j in sorted(ronde.ontvangers.items()):
                deling_bericht.delen.add(
                    ontvanger=o,
                    envelop=verzegel(
                        b.sleutels[o],
                        self.deel_voor(deling, o, j).als_bytes(),
                        deel_info(ronde.ronde_id, code, o),
                    ),
                )
        self._verwerk(b, await self._stuur(1, deling_bericht), 1)

        mijn: dict[str, OpenDeel] = {}
        klachten: list[str] = []
        j = ronde.ontvangers.get(code, 0)
        if code in b.verwacht():  # a receiver still in the round
            for dealer, enveloppen in sorted(b.enveloppen.items()):
                try:
                    deel = OpenDeel.lees(
                        rondesleutel.open(enveloppen[code], deel_info(ronde.ronde_id, dealer, code))
                    )
                    controleer_pedersen(j, deel, b.pedersen[dealer])
                except CryptoError:
                    klachten.append(dealer)
                    log.warning("dkg share did not verify; complaining", extra={"dealer": dealer})
                    continue
                mijn[dealer] = deel
            self._verwerk(b, await self._stuur(2, D.DkgKlachten(ronde_id=ronde.ronde_id, tegen=klachten)), 2)
        else:
            self._verwerk(b, await self._stuur(2, None), 2)

        onthulling = None
        if deling is not None and code in b.verwacht():
            onthulling = D.DkgOnthulling(ronde_id=ronde.ronde_id)
            for o, tegen in sorted(b.klachten.items()):
                if code in tegen:
                    d = self.deel_voor(deling, o, ronde.ontvangers[o])
                    onthulling.delen.add(regio=o, s=d.s.data, s_accent=d.s_accent.data)
        self._verwerk(b, await self._stuur(3, onthulling), 3)
        for dealer, open_ in b.onthuld.items():
            if code in open_:
                mijn[dealer] = open_[code]  # verified against the commitments by everyone

        feldman = None
        if deling is not None and code in b.verwacht():
            feldman = D.DkgFeldman(ronde_id=ronde.ronde_id, commitments=[a.data for a in deling.feldman()])
        self._verwerk(b, await self._stuur(4, feldman), 4)
        del deling

        bevestiging = None
        if code in b.verwacht() and b.sleutel is not None:
            bevestiging = D.DkgBevestiging(ronde_id=ronde.ronde_id, sleutel_commitment=b.sleutel.data)
            for dealer, a in sorted(b.feldman.items()):
                ontvangen = mijn.get(dealer)
                if ontvangen is None:
                    continue
                try:
                    controleer_feldman(j, ontvangen.s, a)
                except OngeldigDeel:
                    bevestiging.klachten.add(
                        regio=dealer, s=ontvangen.s.data, s_accent=ontvangen.s_accent.data
                    )
        bundel = await self._stuur(5, bevestiging)
        self._verwerk(b, bundel, 5)
        try:
            federatie = lees(bundel.register, self._beheerder)
        except RegisterFout as exc:
            raise DkgFout(f"the round's registry: {exc.message}") from None
        b.controleer_register(federatie)
        if code in b.houders():
            self._bewaar(b, j, mijn, federatie)
        del rondesleutel, mijn  # nothing that opens a share outlives the round
        log.info("dkg round done", extra={"ronde": ronde.ronde_id, "houder": code in b.houders()})
        return federatie

    def _bewaar(self, b: Beoordeling, j: int, mijn: Mapping[str, OpenDeel], federatie: Federatie) -> None:
        qual = b.qual()
        if any(d not in mijn for d in qual):
            raise DkgFout("a share from a qualified dealer is missing")
        deel: Sleuteldeel = combineer_deel(
            j, {b.ronde.dealers[d].index: mijn[d].s for d in qual}, b.gewichten()
        )
        if deel.commitment != federatie.regio(self._code).commitment:
            raise DkgFout("this region's combined share does not match its commitment")
        pad = deel_bestand(self._map, federatie.epoch, federatie.generatie)
        pad.parent.mkdir(parents=True, exist_ok=True)
        if pad.exists():
            raise DkgFout(f"{pad} exists; refusing to overwrite a key share")
        pad.touch(mode=0o600)
        pad.write_bytes(deel.waarde.data)

    def _verwerk(self, b: Beoordeling, bundel: D.DkgBundel, fase: int) -> None:
        if bundel.start != b.ronde.ondertekend:
            raise DkgFout("the beheerder changed the round's start")
        b.verwerk(list(bundel.berichten))
        if b.fout is not None:
            raise DkgFout(f"the round failed: {b.fout}")

    async def _stuur(self, fase: int, inhoud: Message | None) -> D.DkgBundel:
        data = b""
        if inhoud is not None:
            data = onderteken(
                self._sleutels.ondertekening,
                self._code,
                soort(fase),
                inhoud.SerializeToString(),
            )
        onderwerp = onderwerpen.dkg(self._ronde_id, self._code)
        tot = asyncio.get_running_loop().time() + self._wacht
        while asyncio.get_running_loop().time() < tot:
            try:
                antwoord = await self._verzoeker.vraag(
                    BEHEERDER, onderwerp, data, timeout=self._per_verzoek, headers={FASE_HEADER: str(fase)}
                )
            except nats.errors.NoRespondersError:
                await asyncio.sleep(1)  # the beheerder has not started the round yet
                continue
            except nats.errors.TimeoutError:
                continue  # the phase is still open; the request is idempotent
            bundel = lees_bundel(antwoord.data, self._beheerder)
            if bundel.ronde_id != self._ronde_id:
                raise DkgFout("a bundle of another round")
            if bundel.fout:
                raise DkgFout(f"the round failed: {bundel.fout}")
            if bundel.fase != fase:
                raise DkgFout("the beheerder answered with another phase")
            return bundel
        raise DkgFout(f"no answer from the beheerder in phase {FASEN[fase]}")
