"""The portal's pages: routes, role checks, forms, the live inbox (Server-Sent Events).

What a role may not do, it does not see (navigation and buttons follow ``MAG``),
and the route refuses it anyway (403) before the node is asked — which refuses it
a third time, since the node checks the person's role itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gedeeld.grpc.authenticatie import Rol
from gedeeld.zvh.v1 import casus_pb2 as C
from gedeeld.zvh.v1 import common_pb2
from gedeeld.zvh.v1 import federatie_pb2 as F
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from gedeeld.zvh.v1 import trend_pb2 as T
from gedeeld.zvh.v1 import vraag_pb2 as V
from services.portaal.beveiliging import Beveiligingskoppen, Sessie, Sessies, csrf_geldig
from services.portaal.gebruikers import Aanmeldfout, Gebruiker, Gebruikers
from services.portaal.grafiek import landelijk_svg
from services.portaal.klant import Fout, Klant
from services.portaal.oidc import OidcFout, OidcKlant

log = logging.getLogger("zvh.portaal")

HIER = Path(__file__).parent
R = Rol
_MAAND = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PR, IC, NM, FG = R.PROCESREGISSEUR, R.INFORMATIECOORDINATOR, R.NETWERKMANAGER, R.FG

# Which role may do what in the portal (the node's REGELS decide in the end).
MAG: Mapping[str, frozenset[Rol]] = {
    "inbox": frozenset({PR, IC, NM}),
    "handelen": frozenset({PR, NM}),
    "casussen": frozenset({PR, IC, NM}),
    "aanmelden": frozenset({PR, IC, NM}),
    "toewijzen": frozenset({IC, NM}),
    "bevraging": frozenset({IC}),
    "inzage": frozenset({FG}),
    "trends": frozenset({PR, IC, NM, FG}),
}
NAVIGATIE = [
    ("inbox", "Inbox", "/inbox"),
    ("casussen", "Casussen", "/casussen"),
    ("aanmelden", "Casus aanmelden", "/casussen/nieuw"),
    ("bevraging", "Bevraging", "/bevraging"),
    ("inzage", "Inzage", "/inzage"),
    ("trends", "Trends", "/trends"),
]

STATUS_TEKST = {
    M.MATCH_STATUS_NIEUW: "Nieuw",
    M.MATCH_STATUS_BEKEKEN: "Bekeken",
    M.MATCH_STATUS_SAMENWERKING_VOORGESTELD: "Samenwerking voorgesteld",
    M.MATCH_STATUS_SAMENWERKING: "Samenwerking",
    M.MATCH_STATUS_AFGEWEZEN: "Afgewezen",
    M.MATCH_STATUS_GESLOTEN: "Gesloten",
}
ZEKERHEID_TEKST = {
    F.ZEKERHEID_ZEKER: "Zeker (BSN)",
    F.ZEKERHEID_WAARSCHIJNLIJK: "Waarschijnlijk (controleer)",
}
CASUSSTATUS_TEKST = {
    C.CASUS_STATUS_AANGEMELD: "Aangemeld",
    C.CASUS_STATUS_IN_BEHANDELING: "In behandeling",
    C.CASUS_STATUS_AFGESCHAALD: "Afgeschaald",
    C.CASUS_STATUS_AFGESLOTEN: "Afgesloten",
}
CRITERIA = [
    ("a_meervoudige_problematiek", "a. Er is sprake van meervoudige problematiek"),
    ("b_regulier_onvoldoende", "b. De reguliere aanpak is onvoldoende"),
    ("c_gezamenlijke_aanpak", "c. Een gezamenlijke aanpak van meerdere partijen is nodig"),
    ("d_verwerking_noodzakelijk", "d. Verwerking van persoonsgegevens is noodzakelijk"),
]


def _naam(enum: Any, prefix: str) -> list[tuple[int, str]]:
    return [
        (v.number, v.name.removeprefix(prefix).replace("_", " ").lower().capitalize())
        for v in enum.DESCRIPTOR.values
        if v.number
    ]


AANMELDERS = _naam(C.AanmelderType, "AANMELDER_TYPE_")
THEMAS = _naam(C.Thema, "THEMA_")
ORIENTATIES = _naam(C.Orientatie, "ORIENTATIE_")
GESLACHTEN = _naam(C.Geslacht, "GESLACHT_")


def veld_id(pad: str) -> str:
    """An HTML id for a proto field path: betrokkenen[0].bsn → veld-betrokkenen-0-bsn."""
    return "veld-" + pad.replace("[", "-").replace("]", "").replace(".", "-").replace("_", "-")


@dataclass
class Omgeving:
    regio: str
    klant: Klant
    gebruikers: Gebruikers
    sessies: Sessies
    cookie: str
    cookie_secure: bool
    stop: asyncio.Event
    oidc: OidcKlant | None = None
    publieke_url: str = ""  # behind a proxy: the address the identity provider sends people back to


def maak_app(omg: Omgeving) -> Starlette:
    templates = Jinja2Templates(directory=str(HIER / "templates"))
    templates.env.globals.update(veld_id=veld_id, STATUS_TEKST=STATUS_TEKST, ZEKERHEID_TEKST=ZEKERHEID_TEKST)
    templates.env.globals.update(CASUSSTATUS_TEKST=CASUSSTATUS_TEKST, regio=omg.regio)

    def terug_url(request: Request) -> str:
        if omg.publieke_url:
            return f"{omg.publieke_url}/oidc/terug"
        return str(request.url_for("oidc_terug"))

    def sessie_van(request: Request) -> Sessie | None:
        return omg.sessies.get(request.cookies.get(omg.cookie))

    def zet_cookie(resp: Response, s: Sessie) -> None:
        resp.set_cookie(omg.cookie, s.id, httponly=True, secure=omg.cookie_secure, samesite="lax", path="/")

    def pagina(
        request: Request, naam: str, s: Sessie, g: Gebruiker | None, status: int = 200, **ctx: Any
    ) -> Response:
        nav = [(t, u) for k, t, u in NAVIGATIE if g is not None and g.rol in MAG[k]]
        melding, s.melding = s.melding, ""
        resp = templates.TemplateResponse(
            request,
            naam,
            {"sessie": s, "gebruiker": g, "nav": nav, "melding": melding, "pad": request.url.path, **ctx},
            status_code=status,
        )
        zet_cookie(resp, s)
        return resp

    def fout_pagina(request: Request, s: Sessie, g: Gebruiker | None, status: int, melding: str) -> Response:
        return pagina(request, "fout.html", s, g, status=status, titel="Niet gelukt", fout=melding)

    Handler = Callable[[Request, Sessie, Gebruiker], Awaitable[Response]]

    def beveiligd(recht: str | None) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Logged in, allowed for the role, CSRF token on every POST."""

        def deco(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
            async def route(request: Request) -> Response:
                s = sessie_van(request)
                if request.method == "POST":
                    form = await request.form()
                    if not csrf_geldig(s, str(form.get("csrf", ""))):
                        return HTMLResponse(
                            "<!doctype html><html lang='nl'><head><title>Geweigerd</title></head>"
                            "<body><main><h1>Geweigerd</h1><p>Het formulier is verlopen of niet van "
                            "dit portaal (CSRF-controle). Laad de pagina opnieuw.</p></main></body></html>",
                            status_code=403,
                        )
                if s is None or not s.gebruiker:
                    return RedirectResponse("/inloggen", status_code=303)
                g = omg.gebruikers.get(s.gebruiker)
                if g is None:  # removed or blocked since login: out at once
                    omg.sessies.beeindig(s)
                    return RedirectResponse("/inloggen", status_code=303)
                if recht is not None and g.rol not in MAG[recht]:
                    return fout_pagina(request, s, g, 403, "Deze pagina is niet beschikbaar voor uw rol.")
                try:
                    return await fn(request, s, g)
                except Fout as f:
                    status = {
                        "PERMISSION_DENIED": 403,
                        "NOT_FOUND": 404,
                        "UNAVAILABLE": 503,
                        "UNIMPLEMENTED": 501,
                    }.get(f.code.name, 400)
                    return fout_pagina(request, s, g, status, f.melding)

            return route

        return deco

    # -- login ------------------------------------------------------------------

    def inlog_pagina(
        request: Request, s: Sessie, status: int = 200, fout: str = "", ingevuld: str = ""
    ) -> Response:
        # The OpenID Connect button shows whenever the region has an IdP configured.
        return pagina(
            request,
            "inloggen.html",
            s,
            None,
            status=status,
            titel="Inloggen",
            oidc=omg.oidc is not None,
            fout=fout,
            ingevuld=ingevuld,
        )

    async def inloggen(request: Request) -> Response:
        s = sessie_van(request) or omg.sessies.nieuw()
        if request.method == "GET":
            if s.gebruiker and omg.gebruikers.get(s.gebruiker):
                return RedirectResponse("/", status_code=303)
            return inlog_pagina(request, s)
        form = await request.form()
        if not csrf_geldig(sessie_van(request), str(form.get("csrf", ""))):
            return inlog_pagina(request, s, 403, "Het formulier was verlopen. Probeer het opnieuw.")
        gebruiker_id = str(form.get("gebruiker", "")).strip()
        try:
            g = await asyncio.to_thread(
                omg.gebruikers.controleer,
                gebruiker_id,
                str(form.get("wachtwoord", "")),
                str(form.get("code", "")),
            )
        except Aanmeldfout as exc:
            log.info("login refused", extra={"regio": omg.regio})
            return inlog_pagina(request, s, 401, exc.melding, ingevuld=gebruiker_id)
        nieuw = omg.sessies.vernieuw(s, g.id)
        log.info("login", extra={"regio": omg.regio, "via": "wachtwoord+totp"})
        resp = RedirectResponse("/", status_code=303)
        zet_cookie(resp, nieuw)
        return resp

    async def uitloggen(request: Request) -> Response:
        s = sessie_van(request)
        form = await request.form()
        if not csrf_geldig(s, str(form.get("csrf", ""))):
            return HTMLResponse("Geweigerd (CSRF-controle)", status_code=403)
        if s is not None:
            omg.sessies.beeindig(s)
        resp = RedirectResponse("/inloggen", status_code=303)
        resp.delete_cookie(omg.cookie, path="/")
        return resp

    async def oidc_start(request: Request) -> Response:
        if omg.oidc is None:
            return Response(status_code=404)
        s = sessie_van(request) or omg.sessies.nieuw()
        try:
            url, s.oidc = await omg.oidc.start(terug_url(request))
        except OidcFout as exc:
            log.warning("oidc provider unavailable", extra={"regio": omg.regio, "error": exc.reden})
            return inlog_pagina(request, s, 503, exc.melding)
        resp = RedirectResponse(url, status_code=303)
        zet_cookie(resp, s)
        return resp

    async def oidc_terug(request: Request) -> Response:
        if omg.oidc is None:
            return Response(status_code=404)
        s = sessie_van(request) or omg.sessies.nieuw()
        try:
            sub = await omg.oidc.terug(s.oidc, dict(request.query_params), str(request.url_for("oidc_terug")))
        except OidcFout as exc:
            s.oidc = {}
            log.info("oidc login refused", extra={"regio": omg.regio, "error": exc.reden})
            return inlog_pagina(request, s, 401, exc.melding)
        s.oidc = {}
        g = omg.gebruikers.via_oidc(sub)
        if g is None:
            return inlog_pagina(
                request,
                s,
                403,
                "Uw account bij de identity provider is niet gekoppeld aan een portaalgebruiker. "
                "Vraag de beheerder om koppeling.",
            )
        nieuw = omg.sessies.vernieuw(s, g.id)
        log.info("login", extra={"regio": omg.regio, "via": "oidc"})
        resp = RedirectResponse("/", status_code=303)
        zet_cookie(resp, nieuw)
        return resp

    @beveiligd(None)
    async def start(request: Request, s: Sessie, g: Gebruiker) -> Response:
        return RedirectResponse("/inzage" if g.rol == FG else "/inbox", status_code=303)

    # -- inbox --------------------------------------------------------------------

    @beveiligd("inbox")
    async def inbox(request: Request, s: Sessie, g: Gebruiker) -> Response:
        resp = await omg.klant.matches(g.id, M.LijstRequest(page_size=100))
        return pagina(
            request, "inbox.html", s, g, titel="Inbox", matches=list(resp.matches), vanaf=resp.resume_token
        )

    @beveiligd("inbox")
    async def inbox_stroom(request: Request, s: Sessie, g: Gebruiker) -> Response:
        """Server-Sent Events from MatchService.Volgen; the browser's Last-Event-ID (the last
        resume token it received) resumes after a reconnect without missing a change."""
        # After a reconnect the browser's Last-Event-ID; on the first connect the feed position the
        # page was rendered at (so the stream does not replay the region's whole history).
        vanaf = request.headers.get("last-event-id") or request.query_params.get("vanaf", "")

        async def gebeurtenissen() -> AsyncIterator[str]:
            # A pump task owns the gRPC stream; this generator only waits on its queue or on the
            # portal's stop, so a closed page or a stopping node ends both cleanly.
            rij: asyncio.Queue[M.MatchWijziging | None] = asyncio.Queue(maxsize=100)

            async def pomp() -> None:
                try:
                    async for w in omg.klant.volgen(g.id, vanaf):
                        await rij.put(w)
                except Fout as f:
                    log.info("inbox stream ended", extra={"error": f.code.name})
                finally:
                    with contextlib.suppress(asyncio.QueueFull):
                        rij.put_nowait(None)

            pomp_taak = asyncio.create_task(pomp())
            stop = asyncio.create_task(omg.stop.wait())
            try:
                yield "retry: 2000\n\n"
                while True:
                    volgende = asyncio.create_task(rij.get())
                    klaar, _ = await asyncio.wait({volgende, stop}, return_when=asyncio.FIRST_COMPLETED)
                    if volgende not in klaar:
                        volgende.cancel()
                        break
                    w = volgende.result()
                    if w is None:
                        break
                    yield f"id: {w.resume_token}\nevent: match\ndata: {json.dumps(_rij(w))}\n\n"
            finally:
                stop.cancel()
                pomp_taak.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pomp_taak

        return StreamingResponse(
            gebeurtenissen(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    def _rij(w: M.MatchWijziging) -> dict[str, Any]:
        m = w.match
        return {
            "match_id": m.match_id,
            "referentie": m.gedeelde_referentie,
            "andere_regio": m.andere_regio,
            "zekerheid": ZEKERHEID_TEKST.get(m.zekerheid, "Onbekend"),
            "status": STATUS_TEKST.get(m.status, "Onbekend"),
            "procesregisseur": m.procesregisseur or "—",
            "nieuw": w.nieuw,
        }

    # -- a match ----------------------------------------------------------------

    @beveiligd("inbox")
    async def match(request: Request, s: Sessie, g: Gebruiker) -> Response:
        m = await omg.klant.match(g.id, request.path_params["match_id"])
        return match_pagina(request, s, g, m)

    def match_pagina(
        request: Request,
        s: Sessie,
        g: Gebruiker,
        m: M.Match,
        status: int = 200,
        fouten: dict[str, str] | None = None,
        fout: str = "",
    ) -> Response:
        handelen = g.rol in MAG["handelen"] and (g.rol == NM or m.procesregisseur == g.id)
        st = m.status
        stappen = {
            "voorstel": handelen and st in (M.MATCH_STATUS_NIEUW, M.MATCH_STATUS_BEKEKEN),
            "akkoord": handelen
            and st == M.MATCH_STATUS_SAMENWERKING_VOORGESTELD
            and m.voorgesteld_door != omg.regio,
            "afwijzen": handelen
            and st in (M.MATCH_STATUS_NIEUW, M.MATCH_STATUS_BEKEKEN, M.MATCH_STATUS_SAMENWERKING_VOORGESTELD),
            "bericht": handelen and st not in (M.MATCH_STATUS_AFGEWEZEN, M.MATCH_STATUS_GESLOTEN),
        }
        return pagina(
            request,
            "match.html",
            s,
            g,
            status=status,
            titel=f"Match {m.gedeelde_referentie}",
            m=m,
            stappen=stappen,
            fouten=fouten or {},
            fout=fout,
            regios=[omg.regio, m.andere_regio],
        )

    def stap(
        maak: Callable[[str, FormData], Any], roep: Callable[[str, Any], Awaitable[M.Match]], bevestiging: str
    ) -> Callable[[Request], Awaitable[Response]]:
        @beveiligd("handelen")
        async def route(request: Request, s: Sessie, g: Gebruiker) -> Response:
            match_id = request.path_params["match_id"]
            form = await request.form()
            try:
                await roep(g.id, maak(match_id, form))
            except Fout as f:
                if f.code.name in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                    m = await omg.klant.match(g.id, match_id)
                    return match_pagina(request, s, g, m, status=400, fouten=f.velden, fout=f.melding)
                raise
            s.melding = bevestiging
            return RedirectResponse(f"/matches/{match_id}", status_code=303)

        return route

    voorstel = stap(
        lambda mid, f: M.VoorstellenRequest(
            match_id=mid,
            regievoerende_regio=str(f.get("regievoerende_regio", "")),
            contactgegevens=str(f.get("contactgegevens", "")),
        ),
        omg.klant.voorstellen,
        "Samenwerking voorgesteld aan de andere regio.",
    )
    akkoord = stap(
        lambda mid, f: M.AkkoordRequest(match_id=mid, contactgegevens=str(f.get("contactgegevens", ""))),
        omg.klant.akkoord,
        "Akkoord gegeven: de samenwerking is gestart.",
    )
    afwijzen = stap(
        lambda mid, f: M.AfwijzenRequest(match_id=mid, reden=str(f.get("reden", ""))),
        omg.klant.afwijzen,
        "Afgewezen.",
    )
    bericht = stap(
        lambda mid, f: M.BerichtRequest(match_id=mid, tekst=str(f.get("tekst", ""))),
        omg.klant.bericht,
        "Bericht verstuurd.",
    )

    # -- casussen -------------------------------------------------------------------

    @beveiligd("casussen")
    async def casussen(request: Request, s: Sessie, g: Gebruiker) -> Response:
        resp = await omg.klant.casussen(g.id, C.ZoekenRequest(page_size=100))
        return pagina(request, "casussen.html", s, g, titel="Casussen", casussen=list(resp.casussen))

    @beveiligd("casussen")
    async def casus(request: Request, s: Sessie, g: Gebruiker) -> Response:
        c = await omg.klant.casus(g.id, request.path_params["casus_id"])
        return casus_pagina(request, s, g, c)

    def casus_pagina(
        request: Request, s: Sessie, g: Gebruiker, c: C.Casus, status: int = 200, fout: str = ""
    ) -> Response:
        procesregisseurs = [u for u in omg.gebruikers.alle().values() if u.rol == PR and not u.geblokkeerd]
        return pagina(
            request,
            "casus.html",
            s,
            g,
            status=status,
            titel="Casus",
            c=c,
            criteria=CRITERIA,
            toewijzen=g.rol in MAG["toewijzen"],
            bevragen=g.rol in MAG["bevraging"],
            procesregisseurs=procesregisseurs,
            fout=fout,
        )

    @beveiligd("toewijzen")
    async def toewijzen(request: Request, s: Sessie, g: Gebruiker) -> Response:
        casus_id = request.path_params["casus_id"]
        form = await request.form()
        try:
            await omg.klant.toewijzen(g.id, casus_id, str(form.get("procesregisseur", "")))
        except Fout as f:
            if f.code.name != "INVALID_ARGUMENT":
                raise
            c = await omg.klant.casus(g.id, casus_id)
            return casus_pagina(request, s, g, c, status=400, fout=f.melding)
        s.melding = "Procesregisseur toegewezen."
        return RedirectResponse(f"/casussen/{casus_id}", status_code=303)

    @beveiligd("aanmelden")
    async def aanmelden(request: Request, s: Sessie, g: Gebruiker) -> Response:
        if request.method == "GET":
            return aanmeld_pagina(request, s, g, {"request_id": str(uuid.uuid4())}, {})
        form = await request.form()
        waarden = {k: str(v) for k, v in form.items() if k != "csrf"}
        req, fouten = aanmeld_verzoek(waarden)
        if fouten:
            return aanmeld_pagina(request, s, g, waarden, fouten, status=400)
        try:
            c = await omg.klant.aanmelden(g.id, req)
        except Fout as f:
            if f.code.name not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                raise
            # With field violations the fields say what is wrong; the summary only counts them.
            melding = "" if f.velden else f.melding
            return aanmeld_pagina(request, s, g, waarden, f.velden, status=400, fout=melding)
        s.melding = "Casus aangemeld."
        return RedirectResponse(f"/casussen/{c.casus_id}", status_code=303)

    def aanmeld_pagina(
        request: Request,
        s: Sessie,
        g: Gebruiker,
        waarden: dict[str, str],
        fouten: dict[str, str],
        status: int = 200,
        fout: str = "",
    ) -> Response:
        return pagina(
            request,
            "aanmelden.html",
            s,
            g,
            status=status,
            titel="Casus aanmelden",
            w=waarden,
            fouten=fouten,
            fout=fout or (f"Controleer de gemarkeerde velden ({len(fouten)})." if fouten else ""),
            criteria=CRITERIA,
            aanmelders=AANMELDERS,
            themas=THEMAS,
            orientaties=ORIENTATIES,
            geslachten=GESLACHTEN,
        )

    # -- bevraging (informatiecoördinator) -----------------------------------------

    async def formulier(
        request: Request,
        s: Sessie,
        g: Gebruiker,
        sjabloon: str,
        titel: str,
        verwerk: Callable[[dict[str, str], dict[str, str]], Awaitable[dict[str, Any]]],
        verwacht: tuple[str, ...],
        waarden: dict[str, str],
        **leeg: Any,
    ) -> Response:
        """A page with one form that asks the node something. GET shows the form with ``waarden``;
        POST hands the posted fields to ``verwerk``, which puts its own checks' findings in the
        second argument (then not calling the node) and returns what the page shows instead of
        ``leeg``. A refusal with a code in ``verwacht`` shows the form again with the node's
        message and field violations (400); any other refusal goes to the error page."""
        fouten: dict[str, str] = {}
        fout = ""
        getoond = dict(leeg)
        if request.method == "POST":
            form = await request.form()
            waarden = {k: str(v) for k, v in form.items() if k != "csrf"}
            try:
                getoond |= await verwerk(waarden, fouten)
            except Fout as f:
                if f.code.name not in verwacht:
                    raise
                fouten, fout = f.velden, f.melding
        if fouten and not fout:
            fout = "Controleer de gemarkeerde velden."
        return pagina(
            request,
            sjabloon,
            s,
            g,
            status=400 if fouten or fout else 200,
            titel=titel,
            w=waarden,
            fouten=fouten,
            fout=fout,
            **getoond,
        )

    @beveiligd("bevraging")
    async def bevraging(request: Request, s: Sessie, g: Gebruiker) -> Response:
        async def vraag(waarden: dict[str, str], fouten: dict[str, str]) -> dict[str, Any]:
            regios = [r.strip() for r in waarden.get("regios", "").split(",") if r.strip()]
            req = V.VragenRequest(
                casus_id=waarden.get("casus_id", "").strip(),
                betrokkene_id=waarden.get("betrokkene_id", "").strip(),
                regios=regios,
            )
            return {"resultaat": await omg.klant.vragen(g.id, req)}

        # A link from a casus page fills in the casus (and person) through the query string.
        return await formulier(
            request,
            s,
            g,
            "bevraging.html",
            "Bevraging",
            vraag,
            ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND"),
            dict(request.query_params),
            resultaat=None,
        )

    # -- inzage (FG) ----------------------------------------------------------------

    @beveiligd("inzage")
    async def inzage(request: Request, s: Sessie, g: Gebruiker) -> Response:
        async def zoek(waarden: dict[str, str], fouten: dict[str, str]) -> dict[str, Any]:
            datum, datumfout = _datum(waarden.get("geboortedatum", ""))
            if datumfout:
                fouten["geboortedatum"] = datumfout
                return {}
            req = C.InzageRequest(
                bsn=waarden.get("bsn", "").strip(),
                achternaam=waarden.get("achternaam", "").strip(),
                verzoek_referentie=waarden.get("verzoek_referentie", "").strip(),
            )
            if datum is not None:
                req.geboortedatum.CopyFrom(datum)
            return {"document": (await omg.klant.inzage(g.id, req)).document}

        return await formulier(
            request, s, g, "inzage.html", "Inzage", zoek, ("INVALID_ARGUMENT",), {}, document=""
        )

    # -- trends (every role): the national picture, without personal data ------------

    @beveiligd("trends")
    async def trends(request: Request, s: Sessie, g: Gebruiker) -> Response:
        waarden = {k: request.query_params.get(k, "").strip() for k in ("van", "tot", "regio")}
        fouten: dict[str, str] = {}
        for veld in ("van", "tot"):
            if waarden[veld] and not _MAAND.match(waarden[veld]):
                fouten[veld] = "gebruik de vorm JJJJ-MM, bijvoorbeeld 2026-11"
        overzicht: T.OverzichtResponse | None = None
        fout = ""
        if not fouten:
            try:
                overzicht = await omg.klant.trends(
                    g.id, T.OverzichtRequest(periode_van=waarden["van"], periode_tot=waarden["tot"])
                )
            except Fout as f:
                if f.code.name != "INVALID_ARGUMENT":
                    raise
                fouten, fout = f.velden, f.melding
        regios = sorted({p.regio for p in overzicht.punten if p.regio}) if overzicht else []
        regio = waarden["regio"] if waarden["regio"] in regios else ""
        # The charts are built by the trend radar as inline SVG (patterns and labels, no colour
        # needed; error bars for the noise); their text is escaped there.
        grafiek = (
            Markup(landelijk_svg(overzicht, regio=regio))  # noqa: S704 (grafiek escapes every text)
            if overzicht and overzicht.punten
            else None
        )
        return pagina(
            request,
            "trends.html",
            s,
            g,
            status=400 if fouten else 200,
            titel="Trends",
            w=waarden,
            fouten=fouten,
            fout=fout or ("Controleer de gemarkeerde velden." if fouten else ""),
            overzicht=overzicht,
            regios=regios,
            regio=regio,
            grafiek=grafiek,
        )

    routes = [
        Route("/", start),
        Route("/inloggen", inloggen, methods=["GET", "POST"]),
        Route("/uitloggen", uitloggen, methods=["POST"]),
        Route("/oidc/start", oidc_start),
        Route("/oidc/terug", oidc_terug, name="oidc_terug"),
        Route("/inbox", inbox),
        Route("/inbox/stroom", inbox_stroom),
        Route("/matches/{match_id}", match),
        Route("/matches/{match_id}/voorstel", voorstel, methods=["POST"]),
        Route("/matches/{match_id}/akkoord", akkoord, methods=["POST"]),
        Route("/matches/{match_id}/afwijzen", afwijzen, methods=["POST"]),
        Route("/matches/{match_id}/bericht", bericht, methods=["POST"]),
        Route("/casussen", casussen),
        Route("/casussen/nieuw", aanmelden, methods=["GET", "POST"]),
        Route("/casussen/{casus_id}", casus),
        Route("/casussen/{casus_id}/toewijzen", toewijzen, methods=["POST"]),
        Route("/bevraging", bevraging, methods=["GET", "POST"]),
        Route("/inzage", inzage, methods=["GET", "POST"]),
        Route("/trends", trends),
        Mount("/static", StaticFiles(directory=str(HIER / "static")), name="static"),
    ]
    return Starlette(routes=routes)


def met_koppen(app: Starlette, *, hsts: bool, form_action_extra: str = "") -> Beveiligingskoppen:
    return Beveiligingskoppen(app, hsts=hsts, form_action_extra=form_action_extra)


def _datum(tekst: str) -> tuple[common_pb2.Datum | None, str]:
    tekst = tekst.strip()
    if not tekst:
        return None, ""
    try:
        d = date.fromisoformat(tekst)
    except ValueError:
        return None, "is geen geldige datum (jjjj-mm-dd)"
    return common_pb2.Datum(jaar=d.year, maand=d.month, dag=d.day), ""


def aanmeld_verzoek(w: Mapping[str, str]) -> tuple[C.AanmeldenRequest, dict[str, str]]:
    """The form (fields named by their proto path) as an AanmeldenRequest; errors the node cannot
    see (a date that is no date, a choice that is no number) are field errors here."""
    fouten: dict[str, str] = {}

    def getal(veld: str) -> int:
        try:
            return int(w.get(veld, "") or 0)
        except ValueError:
            fouten[veld] = "onbekende waarde"
            return 0

    req = C.AanmeldenRequest(
        request_id=w.get("request_id", ""),
        thema=getal("thema"),  # type: ignore[arg-type]
        orientatie=getal("orientatie"),  # type: ignore[arg-type]
    )
    req.aanmelder.type = getal("aanmelder.type")  # type: ignore[assignment]
    req.aanmelder.organisatie = w.get("aanmelder.organisatie", "").strip()
    for veld, _ in CRITERIA:
        c = getattr(req.wgs_criteria, veld)
        c.voldaan = w.get(f"wgs_criteria.{veld}.voldaan") == "ja"
        c.toelichting = w.get(f"wgs_criteria.{veld}.toelichting", "").strip()
    b = req.betrokkenen.add()
    p = "betrokkenen[0]"
    b.bsn = w.get(f"{p}.bsn", "").strip()
    b.voornamen = w.get(f"{p}.voornamen", "").strip()
    b.voorvoegsels = w.get(f"{p}.voorvoegsels", "").strip()
    b.achternaam = w.get(f"{p}.achternaam", "").strip()
    b.geslacht = getal(f"{p}.geslacht")  # type: ignore[assignment]
    datum, datumfout = _datum(w.get(f"{p}.geboortedatum", ""))
    if datumfout:
        fouten[f"{p}.geboortedatum"] = datumfout
    elif datum is not None:
        b.geboortedatum.CopyFrom(datum)
    return req, fouten
