"""Joint handling end to end: matches in the inbox, the lifecycle across two regions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import grpc
import pytest

from gedeeld.grpc.status import field_violations
from gedeeld.zvh.v1 import samenwerking_pb2 as M
from tests.federatie.knooppunten import PR, Federatie, Regio, als
from tests.grpc_stubs import volgende
from tests.voorbeelden import aanmelding, betrokkene

ST = M.MatchStatus


async def _gematcht(federatie: Federatie, a: str = "wvv", b: str = "arnhem") -> tuple[M.Match, M.Match]:
    """One person registered in a and b, each assigned to pr-anna; returns both regions' match."""
    await federatie[a].casus_voor(aanmelding(betrokkene()))
    await federatie[b].casus_voor(aanmelding(betrokkene(voornamen="Jan")))
    await federatie.rustig()
    [ma] = await federatie[a].inbox()
    [mb] = await federatie[b].inbox()
    return ma, mb


async def _status(r: Regio, match_id: str) -> M.Match:
    return await r.matchstub().Ophalen(M.MatchOphalenRequest(match_id=match_id), metadata=als("nm-dirk"))


async def test_match_appears_in_both_inboxes_and_viewing_marks_it(federatie: Federatie) -> None:
    ma, mb = await _gematcht(federatie)
    assert ma.status == mb.status == ST.MATCH_STATUS_NIEUW
    assert ma.andere_regio == "arnhem" and mb.andere_regio == "wvv"
    assert ma.contact_regio == "procesregie@arnhem.zvh.invalid"
    assert ma.procesregisseur == PR and not ma.contact_procesregisseur
    # An informatiecoordinator's view does not count as looked at; the procesregisseur's does.
    ic = (
        await federatie["wvv"]
        .matchstub()
        .Ophalen(M.MatchOphalenRequest(match_id=ma.match_id), metadata=als("ic-carla"))
    )
    assert ic.status == ST.MATCH_STATUS_NIEUW
    pr = (
        await federatie["wvv"]
        .matchstub()
        .Ophalen(M.MatchOphalenRequest(match_id=ma.match_id), metadata=als(PR))
    )
    assert pr.status == ST.MATCH_STATUS_BEKEKEN
    assert [h.handeling for h in await federatie["wvv"].audit("match_bekijken")] == ["match_bekijken"] * 2


async def test_proposal_acceptance_and_contact_exchange(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    voorstel = await a.matchstub().Voorstellen(
        M.VoorstellenRequest(
            match_id=ma.match_id, regievoerende_regio="arnhem", contactgegevens="Anna, 088-1234567"
        ),
        metadata=als(PR),
    )
    assert voorstel.status == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD and voorstel.voorgesteld_door == "wvv"
    await federatie.rustig()
    bij_b = await _status(b, mb.match_id)
    assert bij_b.status == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD
    assert bij_b.regievoerende_regio == "arnhem" and bij_b.voorgesteld_door == "wvv"
    assert not bij_b.contact_procesregisseur, "contact details only after both agreed"

    await b.matchstub().Akkoord(
        M.AkkoordRequest(match_id=mb.match_id, contactgegevens="Bram, 026-7654321"), metadata=als(PR)
    )
    await federatie.rustig()
    na_a, na_b = await _status(a, ma.match_id), await _status(b, mb.match_id)
    assert na_a.status == na_b.status == ST.MATCH_STATUS_SAMENWERKING
    assert na_a.regievoerende_regio == na_b.regievoerende_regio == "arnhem"
    assert na_a.contact_procesregisseur == "Bram, 026-7654321"
    assert na_b.contact_procesregisseur == "Anna, 088-1234567"

    await a.matchstub().Bericht(
        M.BerichtRequest(match_id=ma.match_id, tekst="Overleg dinsdag 10:00?"), metadata=als(PR)
    )
    await federatie.rustig()
    [bericht] = (await _status(b, mb.match_id)).berichten
    assert bericht.regio == "wvv" and bericht.tekst == "Overleg dinsdag 10:00?"


async def test_refusal_and_illegal_steps(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await a.matchstub().Akkoord(M.AkkoordRequest(match_id=ma.match_id), metadata=als(PR))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "akkoord geven kan alleen op een voorstel" in (e.value.details() or "")

    await a.matchstub().Voorstellen(
        M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als(PR)
    )
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await a.matchstub().Akkoord(M.AkkoordRequest(match_id=ma.match_id), metadata=als(PR))
    assert "eigen regio" in (e.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await a.matchstub().Voorstellen(
            M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="haaglanden"), metadata=als(PR)
        )
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await federatie.rustig()

    await b.matchstub().Afwijzen(
        M.AfwijzenRequest(match_id=mb.match_id, reden="geen zelfde persoon"), metadata=als(PR)
    )
    await federatie.rustig()
    na_a = await _status(a, ma.match_id)
    assert na_a.status == ST.MATCH_STATUS_AFGEWEZEN and na_a.afwijsreden == "geen zelfde persoon"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await a.matchstub().Bericht(M.BerichtRequest(match_id=ma.match_id, tekst="toch?"), metadata=als(PR))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    with pytest.raises(grpc.aio.AioRpcError) as e:
        await a.matchstub().Afwijzen(M.AfwijzenRequest(match_id=ma.match_id, reden=""), metadata=als(PR))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_free_text_is_refused_with_its_field_never_cut(federatie: Federatie) -> None:
    """Contactgegevens, berichten and reasons go through gedeeld/tekst.py: over-long, control or
    bidi characters are a field violation and the match does not move; nothing is cut."""
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    st = a.matchstub()
    gevallen: list[tuple[Awaitable[object], str, str]] = [
        (
            st.Voorstellen(
                M.VoorstellenRequest(
                    match_id=ma.match_id, regievoerende_regio="arnhem", contactgegevens="x" * 201
                ),
                metadata=als(PR),
            ),
            "contactgegevens",
            "te lang (maximaal 200 tekens)",
        ),
        (
            st.Voorstellen(
                M.VoorstellenRequest(
                    match_id=ma.match_id,
                    regievoerende_regio="arnhem",
                    contactgegevens="Anna \u202e7654321-880",
                ),
                metadata=als(PR),
            ),
            "contactgegevens",
            "leesrichting",
        ),
        (
            st.Voorstellen(
                M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="arn\x00hem"), metadata=als(PR)
            ),
            "regievoerende_regio",
            "besturingsteken",
        ),
        (
            st.Afwijzen(
                M.AfwijzenRequest(match_id=ma.match_id, reden="geen\x1b[2Jpersoon"), metadata=als(PR)
            ),
            "reden",
            "besturingsteken",
        ),
        (
            st.Lijst(M.LijstRequest(andere_regio="arnhem\x00"), metadata=als(PR)),
            "andere_regio",
            "besturingsteken",
        ),
    ]
    for call, veld, reden in gevallen:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await call
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (veld, e.value.details())
        fouten = dict(field_violations(e.value.trailing_metadata()))
        assert reden in fouten[veld], fouten
    assert (await _status(a, ma.match_id)).status == ST.MATCH_STATUS_NIEUW

    # Exactly the maximum is accepted and arrives whole at the other region.
    contact = "Anna de Vries, 088-1234567, " + "x" * 172
    assert len(contact) == 200
    await st.Voorstellen(
        M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="arnhem", contactgegevens=contact),
        metadata=als(PR),
    )
    await federatie.rustig()  # the proposal has reached arnhem
    await b.matchstub().Akkoord(M.AkkoordRequest(match_id=mb.match_id), metadata=als(PR))
    await federatie.rustig()
    assert (await _status(b, mb.match_id)).contact_procesregisseur == contact
    # A bericht may hold several lines, but no bidi override.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await st.Bericht(M.BerichtRequest(match_id=ma.match_id, tekst="zie \u2066bijlage"), metadata=als(PR))
    assert "tekst" in dict(field_violations(e.value.trailing_metadata()))
    await st.Bericht(
        M.BerichtRequest(match_id=ma.match_id, tekst="Dinsdag:\n10:00\tbellen"), metadata=als(PR)
    )
    await federatie.rustig()
    assert [m.tekst for m in (await _status(b, mb.match_id)).berichten] == ["Dinsdag:\n10:00\tbellen"]


@pytest.mark.parametrize(
    ("regie_a", "regie_b", "verwacht"),
    [
        ("arnhem", "arnhem", ST.MATCH_STATUS_SAMENWERKING),
        ("wvv", "arnhem", ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD),
    ],
)
async def test_simultaneous_proposals_end_the_same_in_both_regions(
    federatie: Federatie, regie_a: str, regie_b: str, verwacht: int
) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    await asyncio.gather(
        a.matchstub().Voorstellen(
            M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio=regie_a), metadata=als(PR)
        ),
        b.matchstub().Voorstellen(
            M.VoorstellenRequest(match_id=mb.match_id, regievoerende_regio=regie_b), metadata=als(PR)
        ),
    )
    await federatie.rustig()
    na_a, na_b = await _status(a, ma.match_id), await _status(b, mb.match_id)
    assert na_a.status == na_b.status == verwacht
    assert na_a.regievoerende_regio == na_b.regievoerende_regio
    assert na_a.voorgesteld_door == na_b.voorgesteld_door
    if verwacht == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD:
        # "arnhem" sorts before "wvv": arnhem's proposal stands, wvv answers it.
        assert na_a.voorgesteld_door == "arnhem" and na_a.regievoerende_regio == "arnhem"
        await a.matchstub().Akkoord(M.AkkoordRequest(match_id=ma.match_id), metadata=als(PR))
        await federatie.rustig()
        assert (await _status(b, mb.match_id)).status == ST.MATCH_STATUS_SAMENWERKING


async def test_offline_region_catches_up_on_overleg(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    await federatie.stop("arnhem")
    await a.matchstub().Voorstellen(
        M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als(PR)
    )
    await a.matchstub().Bericht(M.BerichtRequest(match_id=ma.match_id, tekst="Bel je me?"), metadata=als(PR))
    await federatie.rustig()
    await federatie.start("arnhem")
    await federatie.rustig()
    na_b = await _status(b, mb.match_id)
    assert na_b.status == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD and na_b.regievoerende_regio == "wvv"
    assert [x.tekst for x in na_b.berichten] == ["Bel je me?"]


async def test_closing_the_casus_closes_the_match_in_both(federatie: Federatie) -> None:
    a, b = federatie["wvv"], federatie["arnhem"]
    ma, mb = await _gematcht(federatie)
    await a.afsluiten(ma.casus_id)
    await federatie.rustig()
    assert (await _status(a, ma.match_id)).status == ST.MATCH_STATUS_GESLOTEN
    assert (await _status(b, mb.match_id)).status == ST.MATCH_STATUS_GESLOTEN


async def test_watch_replays_then_streams_and_resumes_without_gaps_or_repeats(federatie: Federatie) -> None:
    a = federatie["wvv"]
    stroom = a.matchstub().Volgen(M.VolgenRequest(), metadata=als(PR))
    ontvangen: list[M.MatchWijziging] = []

    async def lees(n: int) -> None:
        async with asyncio.timeout(20):
            while len(ontvangen) < n:
                ontvangen.append(await volgende(stroom))

    ma, _ = await _gematcht(federatie)
    await lees(1)
    assert ontvangen[0].nieuw and ontvangen[0].match.match_id == ma.match_id
    await a.matchstub().Voorstellen(
        M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als(PR)
    )
    await lees(2)
    assert not ontvangen[1].nieuw and ontvangen[1].match.status == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD
    stroom.cancel()

    # Changes while disconnected: a second match and a message.
    await federatie["haaglanden"].casus_voor(aanmelding(betrokkene(voornamen="J.")))
    await federatie.rustig()
    await a.matchstub().Bericht(M.BerichtRequest(match_id=ma.match_id, tekst="x"), metadata=als(PR))

    weer = a.matchstub().Volgen(M.VolgenRequest(resume_token=ontvangen[1].resume_token), metadata=als(PR))
    later: list[M.MatchWijziging] = []
    async with asyncio.timeout(20):
        while len(later) < 2:
            later.append(await volgende(weer))
    weer.cancel()
    tokens = [w.resume_token for w in ontvangen + later]
    assert len(set(tokens)) == len(tokens), "nothing twice"
    assert later[0].nieuw and later[0].match.andere_regio == "haaglanden"
    assert not later[1].nieuw and later[1].match.match_id == ma.match_id

    # From the beginning: every change, in order, once.
    alles = a.matchstub().Volgen(M.VolgenRequest(), metadata=als(PR))
    opnieuw = [await volgende(alles) for _ in range(4)]
    alles.cancel()
    assert [w.resume_token for w in opnieuw] == tokens

    fout = a.matchstub().Volgen(M.VolgenRequest(resume_token="garbage"), metadata=als(PR))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await fout.read()
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


RPCS = {
    "Lijst": M.LijstRequest(),
    "Ophalen": M.MatchOphalenRequest(match_id="00000000-0000-4000-8000-000000000000"),
    "Voorstellen": M.VoorstellenRequest(
        match_id="00000000-0000-4000-8000-000000000000", regievoerende_regio="wvv"
    ),
    "Akkoord": M.AkkoordRequest(match_id="00000000-0000-4000-8000-000000000000"),
    "Afwijzen": M.AfwijzenRequest(match_id="00000000-0000-4000-8000-000000000000", reden="r"),
    "Bericht": M.BerichtRequest(match_id="00000000-0000-4000-8000-000000000000", tekst="t"),
}
LEZERS = {"pr-anna", "nm-dirk", "ic-carla"}
HANDELAARS = {"pr-anna", "nm-dirk"}


@pytest.mark.parametrize("rpc", [*RPCS, "Volgen"])
async def test_roles_per_rpc(federatie: Federatie, rpc: str) -> None:
    stub = federatie["wvv"].matchstub()
    mag = LEZERS if rpc in {"Lijst", "Ophalen", "Volgen"} else HANDELAARS
    for gebruiker in ("pr-anna", "nm-dirk", "ic-carla", "fg-eva", "niemand"):
        try:
            if rpc == "Volgen":
                s = stub.Volgen(M.VolgenRequest(), metadata=als(gebruiker))
                async with asyncio.timeout(0.5):
                    await s.read()
            else:
                await getattr(stub, rpc)(RPCS[rpc], metadata=als(gebruiker))
            code = grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
        except TimeoutError:
            code = grpc.StatusCode.OK  # the stream was accepted and waits for changes
            s.cancel()
        if gebruiker == "niemand":
            assert code == grpc.StatusCode.UNAUTHENTICATED, gebruiker
        elif gebruiker in mag:
            assert code in {grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND}, (gebruiker, code)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, (gebruiker, code)


async def test_only_the_casus_procesregisseur_acts(federatie: Federatie) -> None:
    ma, _ = await _gematcht(federatie)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await (
            federatie["wvv"]
            .matchstub()
            .Voorstellen(
                M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als("pr-bram")
            )
        )
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ok = (
        await federatie["wvv"]
        .matchstub()
        .Voorstellen(
            M.VoorstellenRequest(match_id=ma.match_id, regievoerende_regio="wvv"), metadata=als("nm-dirk")
        )
    )
    assert ok.status == ST.MATCH_STATUS_SAMENWERKING_VOORGESTELD
