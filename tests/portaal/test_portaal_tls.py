"""The portal in front of a node that serves gRPC with mutual TLS, and what a person is told when
the client certificate is missing."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest

from gedeeld import config as configuratie
from gedeeld.db import Database
from gedeeld.grpc.clientcertificaat import Soort
from gedeeld.nats.server import NatsServer
from gedeeld.pki.ca import maak_ca, maak_certificaat, maak_clientcertificaat
from gedeeld.zvh.v1 import casus_pb2 as C
from services.cli.zvh import foutmelding
from services.node.opstart import Node
from services.portaal.klant import Fout, Klant
from tests.conftest import begrensd, migreer, schrijf_tokens
from tests.portaal.omgeving import schrijf_gebruikers
from tests.portaal.test_portaal_http import inloggen


async def test_portal_talks_mtls_to_its_node_and_names_a_missing_certificate(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    ca = maak_ca()
    cert, key = maak_certificaat(ca, "node.wvv", hosts=("node.wvv.zvh.invalid",)).schrijf(tmp_path, "node")
    # The portal's own application certificate: the node refuses its own node certificate as a client.
    pcert, pkey = maak_clientcertificaat(ca, "portaal.wvv", Soort.TOEPASSING).schrijf(tmp_path, "portaal")
    ca_pem = tmp_path / "ca.crt"
    ca_pem.write_bytes(ca.cert_pem())
    schrijf_tokens(tmp_path / "tokens.toml")
    schrijf_gebruikers(tmp_path / "portaal-gebruikers.toml", "wvv")
    (tmp_path / "node.toml").write_text(
        f'regio = "wvv"\ndata_dir = "{tmp_path}/data"\n[nats]\nurl = "{nats_server.url}"\n'
        f'[auth]\ntokens = "{tmp_path}/tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
        f'[tls]\ncert = "{cert}"\nkey = "{key}"\nclient_ca = "{ca_pem}"\n'
        f'[portaal]\nlisten = "127.0.0.1:0"\ngebruikers = "{tmp_path}/portaal-gebruikers.toml"\n'
        f'cookie_secure = false\ncert = "{pcert}"\nkey = "{pkey}"\n'
    )
    cfg = configuratie.laad(tmp_path / "node.toml", env={})
    cfg.data_dir.mkdir(parents=True)
    db = Database(cfg.database_url)
    await migreer(db)
    await db.close()
    node = Node(cfg)
    await node.start()
    try:
        assert node.portaal is not None and node.grpc is not None
        # Through the portal, over mTLS (the certificate names node.wvv.zvh.invalid, not 127.0.0.1).
        async with httpx.AsyncClient(base_url=node.portaal.url, follow_redirects=True, timeout=20) as web:
            await inloggen(web, "wvv", "ic-carla")
            r = await web.get("/casussen")
            assert r.status_code == 200 and "Er zijn geen casussen." in r.text

        # Without a client certificate the handshake fails: say that, not only "niet bereikbaar".
        creds = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem())
        async with grpc.aio.secure_channel(
            f"127.0.0.1:{node.grpc.port}",
            creds,
            options=[("grpc.ssl_target_name_override", "node.wvv.zvh.invalid")],
        ) as kanaal:
            with pytest.raises(Fout) as fout:
                await Klant(kanaal, "x" * 40, tls=True).casussen("ic-carla", C.ZoekenRequest())
            assert fout.value.code == grpc.StatusCode.UNAVAILABLE
            assert "clientcertificaat" in fout.value.melding, fout.value
            rauw: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = kanaal.unary_unary(
                "/zvh.v1.CasusService/Zoeken"
            )
            with pytest.raises(grpc.aio.AioRpcError) as ruw:
                await rauw(b"", timeout=10)
            assert "clientcertificaat" in foutmelding(ruw.value)
    finally:
        await begrensd("node stop", node.stop(grace=1))
