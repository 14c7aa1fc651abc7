"""``zvh matches …``: the procesregisseur's view of interregional matches (Dutch)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

import grpc

from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import samenwerking_pb2_grpc

STATUS = {
    M.MATCH_STATUS_NIEUW: "nieuw",
    M.MATCH_STATUS_BEKEKEN: "bekeken",
    M.MATCH_STATUS_SAMENWERKING_VOORGESTELD: "voorgesteld",
    M.MATCH_STATUS_SAMENWERKING: "samenwerking",
    M.MATCH_STATUS_AFGEWEZEN: "afgewezen",
    M.MATCH_STATUS_GESLOTEN: "gesloten",
}
ZEKERHEID = {F.ZEKERHEID_ZEKER: "zeker", F.ZEKERHEID_WAARSCHIJNLIJK: "waarschijnlijk"}


def relatief(moment: datetime, nu: datetime | None = None) -> str:
    """'zojuist', '5 min geleden', '3 uur geleden', 'gisteren', '12 dagen geleden', or a date."""
    seconden = ((nu or datetime.now(UTC)) - moment).total_seconds()
    if seconden < 60:
        return "zojuist"
    if seconden < 3600:
        return f"{int(seconden // 60)} min geleden"
    if seconden < 86400:
        return f"{int(seconden // 3600)} uur geleden"
    if seconden < 2 * 86400:
        return "gisteren"
    if seconden < 30 * 86400:
        return f"{int(seconden // 86400)} dagen geleden"
    return moment.date().isoformat()


def _status(m: M.Match) -> str:
    tekst = STATUS.get(m.status, "?")
    if m.status == M.MATCH_STATUS_SAMENWERKING_VOORGESTELD:
        tekst += f" door {m.voorgesteld_door}"
    if m.status in (M.MATCH_STATUS_SAMENWERKING_VOORGESTELD, M.MATCH_STATUS_SAMENWERKING):
        tekst += f", regie {m.regievoerende_regio}"
    return tekst


def regel(m: M.Match, nu: datetime | None = None) -> str:
    return (
        f"{m.match_id:36}  {m.andere_regio:<12} {ZEKERHEID.get(m.zekerheid, '?'):<14} "
        f"{_status(m):<34} {m.procesregisseur or '-':<12} {relatief(m.gewijzigd_op.ToDatetime(UTC), nu)}"
    )


KOP = f"{'match':36}  {'regio':<12} {'zekerheid':<14} {'status':<34} {'regisseur':<12} gewijzigd"


def toon_lijst(resp: M.LijstResponse, nu: datetime | None = None) -> str:
    if not resp.matches:
        return "Geen matches gevonden."
    regels = [KOP, "-" * len(KOP), *(regel(m, nu) for m in resp.matches)]
    if resp.next_page_token:
        regels.append(f"\nVolgende pagina: --pagina {resp.next_page_token}")
    return "\n".join(regels)


def toon_match(m: M.Match, nu: datetime | None = None) -> str:
    regels = [
        f"Match {m.match_id}",
        f"  matchreferentie    {m.gedeelde_referentie or '-'}  (in beide regio's gelijk)",
        f"  eigen casus        {m.casus_id} (betrokkene {m.betrokkene_id})",
        f"  procesregisseur    {m.procesregisseur or '-'}",
        f"  andere regio       {m.andere_regio} (contact {m.contact_regio or '-'})",
        f"  zekerheid          {ZEKERHEID.get(m.zekerheid, '?')} — sleutels: {', '.join(m.sleutel_types)}",
        f"  status             {_status(m)}",
    ]
    if m.zekerheid == F.ZEKERHEID_WAARSCHIJNLIJK:
        regels.append(
            "                     (alleen naam en geboortedatum kwamen overeen: "
            "controleer of het dezelfde persoon is)"
        )
    if m.afwijsreden:
        regels.append(f"  reden afwijzing    {m.afwijsreden}")
    if m.contact_procesregisseur:
        regels.append(f"  hun regisseur      {m.contact_procesregisseur}")
    regels.append(f"  gevonden           {relatief(m.aangemaakt_op.ToDatetime(UTC), nu)}")
    for b in m.berichten:
        regels.append(f"  [{relatief(b.tijdstip.ToDatetime(UTC), nu)}] {b.regio}: {b.tekst}")
    return "\n".join(regels)


def toon_wijziging(w: M.MatchWijziging, nu: datetime | None = None) -> str:
    m = w.match
    soort = "NIEUWE MATCH" if w.nieuw else "gewijzigd   "
    return f"{soort}  {m.match_id}  {m.andere_regio:<12} {ZEKERHEID.get(m.zekerheid, '?'):<14} {_status(m)}"


def parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("matches", help="interregionale matches en samenwerking")
    m = p.add_subparsers(dest="matches_cmd", required=True)
    lijst = m.add_parser("lijst", help="matches van uw regio")
    lijst.add_argument("--status", action="append", choices=[s for s in STATUS.values()])
    lijst.add_argument("--zekerheid", choices=list(ZEKERHEID.values()))
    lijst.add_argument("--regio")
    lijst.add_argument("--eigen", action="store_true", help="alleen casussen die aan u zijn toegewezen")
    lijst.add_argument("--aantal", type=int, default=0)
    lijst.add_argument("--pagina")
    volg = m.add_parser("volg", help="nieuwe matches en wijzigingen live volgen")
    volg.add_argument("--eigen", action="store_true")
    volg.add_argument("--vanaf", help="hervat na dit token (het laatste dat u zag)")
    m.add_parser("bekijk").add_argument("match_id")
    v = m.add_parser("voorstel", help="samenwerking voorstellen")
    v.add_argument("match_id")
    v.add_argument("--regie", required=True, help="de regievoerende regio (uw regio of de andere)")
    v.add_argument("--contact", default="", help="uw functionele contactgegevens")
    a = m.add_parser("akkoord", help="akkoord met het voorstel van de andere regio")
    a.add_argument("match_id")
    a.add_argument("--contact", default="")
    af = m.add_parser("afwijzen")
    af.add_argument("match_id")
    af.add_argument("reden")
    b = m.add_parser("bericht")
    b.add_argument("match_id")
    b.add_argument("tekst")


async def uitvoeren(
    ns: argparse.Namespace,
    kanaal: grpc.aio.Channel,
    metadata: tuple[tuple[str, str], ...],
    uit: Callable[[str], None],
) -> str:
    stub = samenwerking_pb2_grpc.MatchServiceStub(kanaal)
    c = ns.matches_cmd
    t = ns.timeout
    if c == "lijst":
        naar_code = {v: k for k, v in STATUS.items()}
        req = M.LijstRequest(
            status=[naar_code[s] for s in ns.status or []],
            zekerheid={v: k for k, v in ZEKERHEID.items()}.get(ns.zekerheid or "", F.ZEKERHEID_ONBEKEND),
            andere_regio=ns.regio or "",
            alleen_eigen=ns.eigen,
            page_size=ns.aantal,
            page_token=ns.pagina or "",
        )
        return toon_lijst(await stub.Lijst(req, metadata=metadata, timeout=t))
    if c == "volg":
        uit("Matches volgen (Ctrl-C stopt)…")
        laatste = ns.vanaf or ""
        try:
            async for w in stub.Volgen(
                M.VolgenRequest(resume_token=laatste, alleen_eigen=ns.eigen), metadata=metadata
            ):
                uit(toon_wijziging(w))
                laatste = w.resume_token
        finally:
            if laatste:
                uit(f"Hervatten: zvh matches volg --vanaf {laatste}")
        return ""
    if c == "bekijk":
        return toon_match(
            await stub.Ophalen(M.MatchOphalenRequest(match_id=ns.match_id), metadata=metadata, timeout=t)
        )
    if c == "voorstel":
        req_v = M.VoorstellenRequest(
            match_id=ns.match_id, regievoerende_regio=ns.regie, contactgegevens=ns.contact
        )
        return "Voorstel verstuurd.\n" + toon_match(
            await stub.Voorstellen(req_v, metadata=metadata, timeout=t)
        )
    if c == "akkoord":
        req_a = M.AkkoordRequest(match_id=ns.match_id, contactgegevens=ns.contact)
        return "Akkoord verstuurd.\n" + toon_match(await stub.Akkoord(req_a, metadata=metadata, timeout=t))
    if c == "afwijzen":
        req_af = M.AfwijzenRequest(match_id=ns.match_id, reden=ns.reden)
        return "Afwijzing verstuurd.\n" + toon_match(
            await stub.Afwijzen(req_af, metadata=metadata, timeout=t)
        )
    req_b = M.BerichtRequest(match_id=ns.match_id, tekst=ns.tekst)
    return "Bericht verstuurd.\n" + toon_match(await stub.Bericht(req_b, metadata=metadata, timeout=t))
