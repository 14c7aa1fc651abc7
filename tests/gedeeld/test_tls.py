"""Certificate files are checked at start-up: ``config.laad`` stops with one line naming the
setting when a certificate is not PEM, has expired or is not yet valid, or a key does not fit."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gedeeld import config as configuratie
from gedeeld.config import NatsTlsConfig
from gedeeld.fouten import ConfigError
from gedeeld.pki.ca import Sleutelpaar, maak_ca, maak_certificaat
from gedeeld.pki.tls import controleer_ca, controleer_certificaat, nats_tls_context

GISTEREN = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca() -> Sleutelpaar:
    return maak_ca()


def laad(tmp: Path, toml: str) -> configuratie.NodeConfig:
    pad = tmp / "wvv.toml"
    pad.write_text('regio = "wvv"\ndata_dir = "data"\n' + toml)
    return configuratie.laad(pad, env={})


def nats_toml(ca: Path, cert: Path, key: Path) -> str:
    return f'[nats]\nurl = "tls://127.0.0.1:4222"\nca = "{ca}"\ncert = "{cert}"\nkey = "{key}"\n'


def test_an_expired_nats_certificate_stops_laad_naming_the_setting(tmp_path: Path, ca: Sleutelpaar) -> None:
    ca_pad, _ = ca.schrijf(tmp_path, "ca")
    verlopen = maak_certificaat(ca, "wvv", geldig_vanaf=GISTEREN, geldig=timedelta(days=1))
    cert, key = verlopen.schrijf(tmp_path, "node")
    with pytest.raises(ConfigError) as fout:
        laad(tmp_path, nats_toml(ca_pad, cert, key))
    assert fout.value.setting == "nats.cert"
    assert fout.value.message == f"nats.cert: certificate {cert} (CN=wvv) expired on 2026-01-02 12:00 UTC"

    # A valid one passes, and gives the client context the node connects with.
    cert, key = maak_certificaat(ca, "wvv").schrijf(tmp_path, "node")
    cfg = laad(tmp_path, nats_toml(ca_pad, cert, key))
    assert cfg.nats.tls == NatsTlsConfig(ca_pad, cert, key)
    ctx = nats_tls_context(cfg.nats.tls)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_not_pem_not_yet_valid_and_a_foreign_key_are_one_line_each(tmp_path: Path, ca: Sleutelpaar) -> None:
    ca_pad, _ = ca.schrijf(tmp_path, "ca")
    cert, key = maak_certificaat(ca, "wvv").schrijf(tmp_path, "node")
    _, ander = maak_certificaat(ca, "arnhem").schrijf(tmp_path, "ander")
    onzin = tmp_path / "onzin.crt"
    onzin.write_text("not a certificate\n")
    later = maak_certificaat(ca, "wvv", geldig_vanaf=datetime.now(UTC) + timedelta(days=2))
    later_cert, later_key = later.schrijf(tmp_path, "later")

    gevallen = [
        (nats_toml(ca_pad, onzin, key), "nats.cert", f"{onzin} is not a PEM certificate"),
        (nats_toml(ca_pad, later_cert, later_key), "nats.cert", "is not valid before"),
        (nats_toml(ca_pad, cert, ander), "nats.key", f"{ander} does not belong to the certificate {cert}"),
        (nats_toml(onzin, cert, key), "nats.ca", "is not a PEM certificate"),
        (f'[tls]\ncert = "{cert}"\nkey = "{ander}"\n', "tls.key", "does not belong"),
        (f'[tls]\ncert = "{onzin}"\nkey = "{key}"\n', "tls.cert", "is not a PEM certificate"),
    ]
    for toml, instelling, tekst in gevallen:
        with pytest.raises(ConfigError) as fout:
            laad(tmp_path, toml)
        assert fout.value.setting == instelling and tekst in fout.value.message, toml
        assert "\n" not in fout.value.message


def test_an_expired_grpc_certificate_and_an_expired_ca(tmp_path: Path, ca: Sleutelpaar) -> None:
    cert, key = maak_certificaat(ca, "wvv", geldig_vanaf=GISTEREN, geldig=timedelta(days=1)).schrijf(
        tmp_path, "server"
    )
    with pytest.raises(ConfigError, match=r"^tls\.cert: .* expired on 2026-01-02 12:00 UTC$"):
        laad(tmp_path, f'[tls]\ncert = "{cert}"\nkey = "{key}"\n')
    ca_pad, _ = ca.schrijf(tmp_path, "ca")
    na_de_ca = datetime.now(UTC) + timedelta(days=3651)
    with pytest.raises(ConfigError, match="expired on"):
        controleer_ca(ca_pad, "nats.ca", nu=na_de_ca)
    controleer_ca(ca_pad, "nats.ca")
    controleer_certificaat(ca_pad, "nats.ca")
