"""Authentication and role rules, per RPC, over real gRPC (bearer tokens and mTLS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from gedeeld import config as configuratie
from gedeeld.db import Database
from gedeeld.grpc.authenticatie import Rol
from gedeeld.grpc.clientcertificaat import Soort
from gedeeld.pki.ca import Sleutelpaar, maak_ca, maak_certificaat, maak_clientcertificaat
from gedeeld.zvh.v1 import casus_pb2 as S
from gedeeld.zvh.v1 import casus_pb2_grpc
from services.casusregister.server import Casusregister
from services.casusregister.store import CasusRij
from tests.casusregister.test_aanmelden import fout
from tests.conftest import RegisterOpLoopback, migreer, schrijf_tokens, token_van
from tests.voorbeelden import BSN_A, aanmelding

PR, IC, NM, FG = "pr-anna", "ic-carla", "nm-dirk", "fg-eva"


def als(gebruiker: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token_van(gebruiker)}"),)


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


class MtlsRegister:
    """A casusregister of region wvv behind mutual TLS (no registry, so no OIN: the CN's region
    suffix decides), and its CA to issue client certificates with."""

    def __init__(self, tmp_path: Path, *, clientcertificaten: str = "regio") -> None:
        self.tmp = tmp_path
        self.ca = maak_ca()
        self.server_cert, self.server_key = maak_certificaat(self.ca, "wvv").schrijf(tmp_path, "server")
        self.ca_pem = tmp_path / "ca.crt"
        self.ca_pem.write_bytes(self.ca.cert_pem())
        self.clientcertificaten = clientcertificaten

    async def start(self, database_url: str, nc: Any) -> int:
        t = self.tmp
        schrijf_tokens(t / "tokens.toml", diensten={"pgax.wvv": ("pgax", Rol.INFORMATIECOORDINATOR)})
        (t / "node.toml").write_text(
            f'regio = "wvv"\ndata_dir = "{t}/data"\n[database]\nurl = "{database_url}"\n'
            f'[auth]\ntokens = "{t}/tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
            f'[tls]\ncert = "{self.server_cert}"\nkey = "{self.server_key}"\nclient_ca = "{self.ca_pem}"\n'
            f'clientcertificaten = "{self.clientcertificaten}"\n'
        )
        cfg = configuratie.laad(t / "node.toml", env={})
        self.db = Database(cfg.database_url)
        await migreer(self.db)
        self.service = Casusregister(cfg, self.db, nc)
        self.port = await self.service.start()
        return self.port

    def kanaal(self, client: Sleutelpaar | None) -> grpc.aio.Channel:
        creds = grpc.ssl_channel_credentials(
            root_certificates=self.ca.cert_pem(),
            private_key=client.key_pem() if client else None,
            certificate_chain=client.cert_pem() if client else None,
        )
        return grpc.aio.secure_channel(f"localhost:{self.port}", creds)

    async def stop(self) -> None:
        await self.service.stop(grace=1)
        await self.db.close()


@pytest.fixture
async def mtls(tmp_path: Path, nats_server: Any, nc: Any) -> AsyncIterator[MtlsRegister]:
    r = MtlsRegister(tmp_path)
    await r.start(f"sqlite:///{tmp_path / 'node.db'}", nc)
    try:
        yield r
    finally:
        await r.stop()


def geweigerd(reden: str) -> float:
    return REGISTRY.get_sample_value("zvh_grpc_client_certificate_refused_total", {"reden": reden}) or 0.0


async def test_mtls_application_certificate_maps_to_service_identity(mtls: MtlsRegister) -> None:
    pgax = maak_clientcertificaat(mtls.ca, "pgax.wvv", Soort.TOEPASSING, oin="00000001234567890000")
    vreemd = maak_clientcertificaat(maak_ca("andere CA"), "pgax.wvv", Soort.TOEPASSING)
    async with mtls.kanaal(pgax) as ch:
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
        async with mtls.kanaal(client) as ch:
            e = await fout(casus_pb2_grpc.CasusServiceStub(ch).Zoeken(S.ZoekenRequest(), timeout=10))
            assert e.code() == grpc.StatusCode.UNAVAILABLE  # TLS handshake refused


async def test_user_certificate_opens_the_connection_the_token_names_the_person(mtls: MtlsRegister) -> None:
    anna = maak_clientcertificaat(mtls.ca, "pr-anna.wvv", Soort.GEBRUIKER)
    async with mtls.kanaal(anna) as ch:
        stub = casus_pb2_grpc.CasusServiceStub(ch)
        c = (await stub.Aanmelden(aanmelding(), metadata=als(IC), timeout=10)).casus
        assert c.status == S.CASUS_STATUS_AANGEMELD
        # A user certificate is never a [[dienst]], even with a CN in the token file's shape.
        e = await fout(stub.Zoeken(S.ZoekenRequest(), timeout=10))
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "geen token" in (e.details() or "")
    # A user certificate named like the [[dienst]] does not become that service either.
    nep = maak_clientcertificaat(mtls.ca, "pgax.wvv", Soort.GEBRUIKER)
    async with mtls.kanaal(nep) as ch:
        e = await fout(casus_pb2_grpc.CasusServiceStub(ch).Zoeken(S.ZoekenRequest(), timeout=10))
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("soort", "reden"),
    [
        ("eigen node", "soort"),  # our own node's server certificate
        ("andere node", "soort"),
        ("gebruiker andere regio", "regio"),
        ("toepassing andere regio", "regio"),
        ("clientAuth zonder OU", "soort"),
    ],
)
async def test_certificates_that_are_not_this_regions_clients_are_refused_even_with_a_valid_token(
    mtls: MtlsRegister, soort: str, reden: str, caplog: pytest.LogCaptureFixture
) -> None:
    ca = mtls.ca
    cert = {
        "eigen node": lambda: maak_certificaat(ca, "wvv"),
        "andere node": lambda: maak_certificaat(ca, "arnhem"),
        "gebruiker andere regio": lambda: maak_clientcertificaat(ca, "pr-anna.arnhem", Soort.GEBRUIKER),
        "toepassing andere regio": lambda: maak_clientcertificaat(ca, "pgax.arnhem", Soort.TOEPASSING),
        "clientAuth zonder OU": lambda: _zonder_ou(ca, "pr-anna.wvv"),
    }[soort]()
    voor = geweigerd(reden)
    async with mtls.kanaal(cert) as ch:
        stub = casus_pb2_grpc.CasusServiceStub(ch)
        for call in (
            stub.Zoeken(S.ZoekenRequest(), metadata=als(PR), timeout=10),
            stub.Aanmelden(aanmelding(), metadata=als(IC), timeout=10),
        ):
            e = await fout(call)
            assert e.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "regio wvv" in (e.details() or "")
    assert geweigerd(reden) == voor + 2
    # Counted and logged, but without the certificate's names.
    regels = [r for r in caplog.records if r.getMessage() == "grpc client certificate refused"]
    assert len(regels) == 2
    for r in caplog.records:
        tekst = r.getMessage() + repr(r.__dict__)
        assert "pr-anna" not in tekst and "pgax" not in tekst and "arnhem" not in tekst
    async with mtls.db.lezen() as s:
        assert (await s.execute(select(func.count()).select_from(CasusRij))).scalar_one() == 0


async def test_with_the_check_switched_off_a_node_certificate_and_a_token_get_in(
    tmp_path: Path, nats_server: Any, nc: Any
) -> None:
    """The harm the check prevents, shown: ``clientcertificaten = "ca"`` lets another region's
    node certificate call with a token (the behaviour before the check)."""
    r = MtlsRegister(tmp_path, clientcertificaten="ca")
    await r.start(f"sqlite:///{tmp_path / 'node.db'}", nc)
    try:
        async with r.kanaal(maak_certificaat(r.ca, "arnhem")) as ch:
            resp = await casus_pb2_grpc.CasusServiceStub(ch).Zoeken(
                S.ZoekenRequest(), metadata=als(PR), timeout=10
            )
            assert list(resp.casussen) == []
    finally:
        await r.stop()


def _zonder_ou(ca: Sleutelpaar, cn: str) -> Sleutelpaar:
    """A clientAuth-only certificate of the right region without the OU that says it is a user's
    or an application's (e.g. issued for another purpose)."""
    paar = maak_clientcertificaat(ca, cn, Soort.GEBRUIKER)
    c = paar.certificaat
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(c.issuer)
        .public_key(paar.sleutel.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(c.not_valid_before_utc)
        .not_valid_after(c.not_valid_after_utc)
    )
    for ext in c.extensions:
        builder = builder.add_extension(ext.value, ext.critical)
    return Sleutelpaar(builder.sign(ca.sleutel, hashes.SHA256()), paar.sleutel)
