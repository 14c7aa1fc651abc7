"""``zvh``: the command line for a region's own users (Dutch).

    zvh casus aanmelden BESTAND.json     (protobuf JSON of an AanmeldenRequest)
    zvh casus ophalen CASUS_ID
    zvh casus zoeken [--status S] [--thema T] [--procesregisseur ID] [--topx ja|nee]
    zvh casus toewijzen CASUS_ID PROCESREGISSEUR
    zvh casus status CASUS_ID NIEUWE_STATUS [--toelichting T]
    zvh casus topx CASUS_ID ja|nee
    zvh casus afsluiten CASUS_ID REDEN [--toelichting T]
    zvh vraag CASUS_ID [--betrokkene ID] [--regio R ...] [--wacht MS]   (informatiecoördinator)
    zvh matches lijst [--status S] [--zekerheid Z] [--regio R] [--eigen]
    zvh matches volg [--eigen] [--vanaf TOKEN]
    zvh matches bekijk|akkoord MATCH_ID        zvh matches voorstel MATCH_ID --regie REGIO
    zvh matches afwijzen MATCH_ID REDEN        zvh matches bericht MATCH_ID TEKST
    zvh trends [--van 2026-01] [--tot 2026-11] [--regio R] [--maat nieuw --per thema|orientatie]
    zvh inzage (--bsn BSN | --achternaam N --geboortedatum JJJJ-MM-DD) --referentie R

The node's address comes from ``--adres`` or ZVH_ADRES (default 127.0.0.1:50051),
the user's token from ZVH_TOKEN. A node that serves TLS needs ``--ca`` (ZVH_CA); one that asks
for client certificates (mTLS) also ``--cert`` and ``--key`` (ZVH_CERT, ZVH_KEY): a user or
application certificate of the node's own region (``zvhctl certs --gebruiker/--toepassing``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message

from gedeeld.grpc.status import field_violations, tls_geweigerd
from gedeeld.zvh.v1 import casus_pb2, casus_pb2_grpc, common_pb2, trend_pb2_grpc, vraag_pb2, vraag_pb2_grpc
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.cli import matches, trends

S = casus_pb2


def _enum(enum: Any, prefix: str, waarde: str) -> Any:
    try:
        return enum.Value(prefix + waarde.upper())
    except ValueError:
        keuzes = ", ".join(n.removeprefix(prefix).lower() for n in enum.keys() if not n.endswith("ONBEKEND"))  # noqa: SIM118
        raise SystemExit(f"fout: onbekende waarde '{waarde}'; kies uit: {keuzes}") from None


def _naam(enum: Any, prefix: str, waarde: int) -> str:
    return str(enum.Name(waarde)).removeprefix(prefix).lower()


def _datum(tekst: str) -> common_pb2.Datum:
    try:
        d = date.fromisoformat(tekst)
    except ValueError:
        raise SystemExit("fout: datum moet JJJJ-MM-DD zijn") from None
    return common_pb2.Datum(jaar=d.year, maand=d.month, dag=d.day)


def toon_casus(c: S.Casus) -> str:
    regels = [
        f"Casus {c.casus_id} (regio {c.regio}, versie {c.versie})",
        f"  status:          {_naam(S.CasusStatus, 'CASUS_STATUS_', c.status)}",
        f"  thema:           {_naam(S.Thema, 'THEMA_', c.thema)}",
        f"  oriëntatie:      {_naam(S.Orientatie, 'ORIENTATIE_', c.orientatie)}",
        f"  aanmelder:       {_naam(S.AanmelderType, 'AANMELDER_TYPE_', c.aanmelder.type)}"
        + (f" ({c.aanmelder.organisatie})" if c.aanmelder.organisatie else ""),
        f"  procesregisseur: {c.procesregisseur or '(nog niet toegewezen)'}",
        f"  TopX:            {'ja' if c.topx else 'nee'}",
        f"  aangemeld op:    {c.aangemeld_op.ToDatetime().strftime('%d-%m-%Y %H:%M')} UTC",
        "  betrokkenen:",
    ]
    for b in c.betrokkenen:
        naam = " ".join(x for x in (b.voornamen, b.voorvoegsels, b.achternaam) if x)
        g = b.geboortedatum
        regels.append(
            f"    - {naam}, geboren {g.dag:02d}-{g.maand:02d}-{g.jaar}"
            + (f", BSN {b.bsn}" if b.bsn else ", zonder BSN")
        )
    return "\n".join(regels)


def toon_lijst(resp: S.ZoekenResponse) -> str:
    if not resp.casussen:
        return "Geen casussen gevonden."
    kop = f"{'casus':36}  {'status':15} {'thema':20} {'procesregisseur':16} topx  personen"
    regels = [kop, "-" * len(kop)]
    for c in resp.casussen:
        regels.append(
            f"{c.casus_id:36}  {_naam(S.CasusStatus, 'CASUS_STATUS_', c.status):15} "
            f"{_naam(S.Thema, 'THEMA_', c.thema):20} {c.procesregisseur or '-':16} "
            f"{'ja' if c.topx else 'nee':5} {c.aantal_betrokkenen}"
        )
    if resp.next_page_token:
        regels.append(f"\nVolgende pagina: --pagina {resp.next_page_token}")
    return "\n".join(regels)


_NIET_BEANTWOORD = {
    vraag_pb2.NIET_BEANTWOORD_REDEN_GEEN_ANTWOORD: "geen antwoord binnen de wachttijd",
    vraag_pb2.NIET_BEANTWOORD_REDEN_LIMIET: "te veel vragen uit onze regio; probeer het later",
    vraag_pb2.NIET_BEANTWOORD_REDEN_ONGELDIG: "antwoord ongeldig of vraag geweigerd",
}


def toon_vraag(resp: vraag_pb2.VragenResponse) -> str:
    regels = [f"Vraag {resp.vraag_id}"]
    for r in resp.resultaten:
        regels.append(f"  betrokkene {r.betrokkene_id}:")
        for t in r.treffers:
            zeker = _naam(F.Zekerheid, "ZEKERHEID_", t.zekerheid)
            regels.append(
                f"    treffer   {t.regio:<12} {zeker:<15} ({', '.join(t.sleutel_types)}) contact {t.contact}"
            )
        if r.geen_treffer:
            regels.append(f"    geen treffer: {', '.join(r.geen_treffer)}")
        for n in r.niet_beantwoord:
            regels.append(f"    niet beantwoord: {n.regio} ({_NIET_BEANTWOORD.get(n.reden, 'onbekend')})")
    return "\n".join(regels)


def foutmelding(exc: grpc.aio.AioRpcError, ns: argparse.Namespace | None = None) -> str:
    code = exc.code()
    tls = ns is None or bool(getattr(ns, "ca", None))
    if code == grpc.StatusCode.UNAVAILABLE and tls_geweigerd(exc.details() or "", tls):
        # The node closed the TLS handshake: almost always a missing or unknown client certificate.
        zonder = ns is not None and not getattr(ns, "cert", None)
        return "fout: de node weigert de verbinding tijdens de TLS-handshake: " + (
            "er is geen clientcertificaat meegestuurd (gebruik --cert en --key)"
            if zonder
            else "het clientcertificaat wordt geweigerd (is het door de CA van de regio uitgegeven?)"
        )
    uitleg = {
        grpc.StatusCode.UNAUTHENTICATED: "niet aangemeld (zet ZVH_TOKEN)",
        grpc.StatusCode.PERMISSION_DENIED: "geen toegang",
        grpc.StatusCode.NOT_FOUND: "niet gevonden",
        grpc.StatusCode.INVALID_ARGUMENT: "ongeldige invoer",
        grpc.StatusCode.FAILED_PRECONDITION: "niet mogelijk",
        grpc.StatusCode.ALREADY_EXISTS: "bestaat al",
        grpc.StatusCode.ABORTED: "intussen gewijzigd",
        grpc.StatusCode.UNAVAILABLE: "de node is niet bereikbaar",
    }.get(code, code.name.lower())
    details = exc.details() or ""
    regels = [f"fout: {details}" if details.startswith(uitleg) else f"fout: {uitleg}: {details}"]
    for veld, tekst in field_violations(exc.trailing_metadata()):
        regels.append(f"  - {veld}: {tekst}")
    return "\n".join(regels)


def kanaal_naar(ns: argparse.Namespace) -> grpc.aio.Channel:
    """Plain, TLS (``--ca``) or mutual TLS (``--ca`` with ``--cert`` and ``--key``)."""
    if not ns.ca:
        return grpc.aio.insecure_channel(ns.adres)
    try:
        ca = Path(ns.ca).read_bytes()
        cert = Path(ns.cert).read_bytes() if ns.cert else None
        key = Path(ns.key).read_bytes() if ns.key else None
    except OSError as exc:
        raise SystemExit(
            f"fout: kan certificaatbestand niet lezen: {exc.filename} ({exc.strerror})"
        ) from None
    creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
    return grpc.aio.secure_channel(ns.adres, creds)


async def uitvoeren(ns: argparse.Namespace) -> str:
    token = os.environ.get("ZVH_TOKEN", "")
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    async with kanaal_naar(ns) as kanaal:
        stub = casus_pb2_grpc.CasusServiceStub(kanaal)

        async def roep(fn: Callable[..., Awaitable[Message]], req: Message) -> Any:
            return await fn(req, metadata=metadata, timeout=ns.timeout)

        if ns.cmd == "matches":
            return await matches.uitvoeren(ns, kanaal, metadata, lambda t: print(t, flush=True))
        if ns.cmd == "vraag":
            vraag = vraag_pb2.VragenRequest(
                casus_id=ns.casus_id,
                betrokkene_id=ns.betrokkene or "",
                regios=ns.regio or [],
                deadline_ms=ns.wacht,
            )
            return toon_vraag(await roep(vraag_pb2_grpc.VraagServiceStub(kanaal).Vragen, vraag))
        if ns.cmd == "trends":
            stub_t = trend_pb2_grpc.TrendServiceStub(kanaal)
            resp = await roep(stub_t.Overzicht, trends.overzicht_verzoek(ns))
            return trends.toon_overzicht(resp, ns.regio or "", ns.maat, ns.per)
        if ns.cmd == "inzage":
            inzage_req = S.InzageRequest(
                bsn=ns.bsn or "", achternaam=ns.achternaam or "", verzoek_referentie=ns.referentie
            )
            if ns.geboortedatum:
                inzage_req.geboortedatum.CopyFrom(_datum(ns.geboortedatum))
            return str((await roep(stub.Inzage, inzage_req)).document)
        c = ns.casus_cmd
        if c == "aanmelden":
            req = json_format.Parse(ns.bestand_inhoud, S.AanmeldenRequest())
            resp = await roep(stub.Aanmelden, req)
            kop = "Deze aanmelding was al ontvangen:" if resp.herhaald else "Casus aangemeld:"
            return kop + "\n" + toon_casus(resp.casus)
        if c == "ophalen":
            return toon_casus(await roep(stub.Ophalen, S.OphalenRequest(casus_id=ns.casus_id)))
        if c == "zoeken":
            zoek = S.ZoekenRequest(
                status=[_enum(S.CasusStatus, "CASUS_STATUS_", s) for s in ns.status or []],
                thema=_enum(S.Thema, "THEMA_", ns.thema) if ns.thema else S.THEMA_ONBEKEND,
                procesregisseur=ns.procesregisseur or "",
                page_size=ns.aantal,
                page_token=ns.pagina or "",
            )
            if ns.topx:
                zoek.topx = ns.topx == "ja"
            return toon_lijst(await roep(stub.Zoeken, zoek))
        if c == "toewijzen":
            r = S.ToewijzenRequest(casus_id=ns.casus_id, procesregisseur=ns.procesregisseur)
            return toon_casus(await roep(stub.Toewijzen, r))
        if c == "status":
            r2 = S.StatusWijzigenRequest(
                casus_id=ns.casus_id,
                nieuwe_status=_enum(S.CasusStatus, "CASUS_STATUS_", ns.nieuwe_status),
                toelichting=ns.toelichting or "",
            )
            return toon_casus(await roep(stub.StatusWijzigen, r2))
        if c == "topx":
            r3 = S.TopXMarkerenRequest(casus_id=ns.casus_id, topx=ns.waarde == "ja")
            return toon_casus(await roep(stub.TopXMarkeren, r3))
        r4 = S.AfsluitenRequest(
            casus_id=ns.casus_id,
            reden=_enum(S.AfsluitReden, "AFSLUIT_REDEN_", ns.reden),
            toelichting=ns.toelichting or "",
        )
        return toon_casus(await roep(stub.Afsluiten, r4))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="zvh", description="Casussen van uw Zorg- en Veiligheidshuis.")
    p.add_argument("--adres", default=os.environ.get("ZVH_ADRES", "127.0.0.1:50051"))
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--ca", default=os.environ.get("ZVH_CA"), help="CA of the node's TLS certificate")
    p.add_argument("--cert", default=os.environ.get("ZVH_CERT"), help="client certificate (mTLS)")
    p.add_argument("--key", default=os.environ.get("ZVH_KEY"), help="its private key")
    sub = p.add_subparsers(dest="cmd", required=True)
    casus = sub.add_parser("casus").add_subparsers(dest="casus_cmd", required=True)
    casus.add_parser("aanmelden").add_argument("bestand")
    casus.add_parser("ophalen").add_argument("casus_id")
    z = casus.add_parser("zoeken")
    z.add_argument("--status", action="append")
    z.add_argument("--thema")
    z.add_argument("--procesregisseur")
    z.add_argument("--topx", choices=["ja", "nee"])
    z.add_argument("--aantal", type=int, default=0)
    z.add_argument("--pagina")
    t = casus.add_parser("toewijzen")
    t.add_argument("casus_id")
    t.add_argument("procesregisseur")
    s = casus.add_parser("status")
    s.add_argument("casus_id")
    s.add_argument("nieuwe_status")
    s.add_argument("--toelichting")
    x = casus.add_parser("topx")
    x.add_argument("casus_id")
    x.add_argument("waarde", choices=["ja", "nee"])
    a = casus.add_parser("afsluiten")
    a.add_argument("casus_id")
    a.add_argument("reden")
    a.add_argument("--toelichting")
    matches.parser(sub)
    v = sub.add_parser("vraag", help="hit/no-hit-vraag aan andere regio's over een eigen casus")
    v.add_argument("casus_id")
    v.add_argument("--betrokkene", help="één persoon van de casus (standaard: allen)")
    v.add_argument("--regio", action="append", help="alleen deze regio (herhaalbaar; standaard: alle)")
    v.add_argument("--wacht", type=int, default=0, help="wachttijd in ms (standaard 2000)")
    trends.zvh_parser(sub)
    i = sub.add_parser("inzage")
    i.add_argument("--bsn")
    i.add_argument("--achternaam")
    i.add_argument("--geboortedatum")
    i.add_argument("--referentie", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:
        if getattr(ns, "bestand", None):
            ns.bestand_inhoud = Path(ns.bestand).read_text()
        tekst = asyncio.run(uitvoeren(ns))
        if tekst:
            print(tekst)
    except KeyboardInterrupt:
        return 0
    except grpc.aio.AioRpcError as exc:
        print(foutmelding(exc, ns), file=sys.stderr)
        return 1
    except (OSError, json_format.ParseError, json.JSONDecodeError) as exc:
        print(f"fout: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
