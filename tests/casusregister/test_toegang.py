"""Authentication and role rules, per RPC, over real gRPC (bearer tokens and mTLS)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from gedeeld import config as configuratie
from gedeeld.auth import Rol
from gedeeld.db import Database
from gedeeld.pki import maak_ca, maak_certificaat
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc
from services.casusregister.server import Casusregister
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback, migreer, schrijf_tokens
from tests.voorbeelden import BSN_A, aanmelding

PR, IC, NM, FG = "pr-anna", "ic-carla", "nm-dirk", "fg-eva"

# The specification of who may call what (docs/casusregister.md), written out
# independently of services/casusregister/service.py:REGELS.
MAG = {
    "Aanmelden": {PR, IC, NM},
    "Ophalen": {PR, IC, NM},
    "Zoeken": {PR, IC, NM},
    "Toewijzen": {IC, NM},
    "StatusWijzigen": {PR, NM},
    "TopXMarkeren": {PR, NM},
    "Afsluiten": {PR, NM},
    "Inzage": {FG},
}


def aanroepen(r: RegisterOpLoopback, casus_id: str) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    st = r.stub
    return {
        "Aanmelden": lambda md: st.Aanmelden(aanmelding(), metadata=md),
        "Ophalen": lambda md: st.Ophalen(S.OphalenRequest(casus_id=casus_id), metadata=md),
        "Zoeken": lambda md: st.Zoeken(S.ZoekenRequest(), metadata=md),
        "Toewijzen": lambda md: st.Toewijzen(
            S.ToewijzenRequest(casus_id=casus_id, procesregisseur=PR), metadata=md
        ),
        "StatusWijzigen": lambda md: st.StatusWijzigen(
            S.StatusWijzigenRequest(casus_id=casus_id, nieuwe_status=S.CASUS_STATUS_IN_BEHANDELING),
            metadata=md,
        ),
        "TopXMarkeren": lambda md: st.TopXMarkeren(
            S.TopXMarkerenRequest(casus_id=casus_id, topx=True), metadata=md
        ),
        "Afsluiten": lambda md: st.Afsluiten(
            S.AfsluitenRequest(casus_id=casus_id, reden=S.AFSLUIT_REDEN_DOELEN_BEREIKT), metadata=md
        ),
        "Inzage": lambda md: st.Inzage(S.InzageRequest(bsn=BSN_A, verzoek_referentie="AVG-1"), metadata=md),
    }


@pytest.mark.parametrize("rpc", sorted(MAG))
@pytest.mark.parametrize("gebruiker", [PR, IC, NM, FG])
async def test_role_rules_per_rpc(register: RegisterOpLoopback, rpc: str, gebruiker: str) -> None:
    c = (await register.stub.Aanmelden(aanmelding(), metadata=register.als(IC))).casus
    await register.stub.Toewijzen(
        S.ToewijzenRequest(casus_id=c.casus_id, procesregisseur=PR), metadata=register.als(NM)
    )
    call = aanroepen(register, c.casus_id)[rpc]

    if gebruiker in MAG[rpc]:
        await call(register.als(gebruiker))  # succeeds: no exception
    else:
        e = await fout(call(register.als(gebruiker)))
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED
        assert rpc in (e.details() or "")


@pytest.mark.parametrize("rpc", sorted(MAG))
@pytest.mark.parametrize(
    "metadata",
    [(), (("authorization", "Bearer niet-bestaand"),), (("authorization", "Basic abc"),)],
    ids=["geen", "onbekend", "verkeerd-schema"],
)
async def test_unauthenticated_per_rpc(
    register: RegisterOpLoopback, rpc: str, metadata: tuple[Any, ...]
) -> None:
    e = await fout(aanroepen(register, "00000000-0000-4000-8000-000000000000")[rpc](metadata))
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_mtls_client_certificate_maps_to_service_identity(
    tmp_path: Path, database_url: str, nats_server: Any, nc: Any
) -> None:
    ca = maak_ca()
    server_cert, server_key = maak_certificaat(ca, "casusregister.wvv").schrijf(tmp_path, "server")
    ca_pem = tmp_path / "ca.crt"
    ca_pem.write_bytes(ca.cert_pem())
    pgax = maak_certificaat(ca, "pgax.wvv", oin="00000001234567890000")
    vreemd = maak_certificaat(maak_ca("andere CA"), "pgax.wvv")
    schrijf_tokens(tmp_path / "tokens.toml", diensten={"pgax.wvv": ("pgax", Rol.INFORMATIECOORDINATOR)})
    (tmp_path / "node.toml").write_text(
        f'regio = "wvv"\ndata_dir = "{tmp_path}/data"\n[database]\nurl = "{database_url}"\n'
        f'[auth]\ntokens = "{tmp_path}/tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
        f'[tls]\ncert = "{server_cert}"\nkey = "{server_key}"\nclient_ca = "{ca_pem}"\n'
    )
    cfg = configuratie.laad(tmp_path / "node.toml", env={})
    db = Database(cfg.database_url)
    await migreer(db)
    service = Casusregister(cfg, db, nc)
    port = await service.start()

    def kanaal(client: Any) -> grpc.aio.Channel:
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca.cert_pem(),
            private_key=client.key_pem() if client else None,
            certificate_chain=client.cert_pem() if client else None,
        )
        return grpc.aio.secure_channel(f"localhost:{port}", creds)

    try:
        async with kanaal(pgax) as ch:
            resp = await casus_pb2_grpc.CasusServiceStub(ch).Aanmelden(aanmelding(), timeout=10)
            assert resp.casus.status == S.CASUS_STATUS_AANGEMELD
            # An informatiecoordinator identity: Inzage stays closed.
            e = await fout(
                casus_pb2_grpc.CasusServiceStub(ch).Inzage(
                    S.InzageRequest(bsn=BSN_A, verzoek_referentie="x"), timeout=10
                )
            )
            assert e.code() == grpc.StatusCode.PERMISSION_DENIED
        for client in (None, vreemd):
            async with kanaal(client) as ch:
                e = await fout(casus_pb2_grpc.CasusServiceStub(ch).Zoeken(S.ZoekenRequest(), timeout=10))
                assert e.code() == grpc.StatusCode.UNAVAILABLE  # TLS handshake refused
    finally:
        await service.stop(grace=1)
        await db.close()
