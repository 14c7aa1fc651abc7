"""zvh-node and zvhctl as processes: start, SIGTERM, clear start-up errors, CLI round trip."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import schrijf_tokens, token_van
from tests.voorbeelden import BSN_A

BIN = Path(sys.executable).parent


def config(tmp_path: Path, extra: str = "") -> Path:
    schrijf_tokens(tmp_path / "tokens.toml")
    p = tmp_path / "wvv.toml"
    p.write_text(
        f'regio = "wvv"\ndata_dir = "data"\n[auth]\ntokens = "tokens.toml"\n'
        f'[casusregister]\nlisten = "127.0.0.1:0"\n{extra}'
    )
    return p


def zvhctl(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "zvhctl"), "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def start_node(cfg: Path) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "zvh-node"),
        "--config",
        str(cfg),
        "--grace",
        "2",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    m = re.search(r"gRPC on port (\d+)", line)
    assert m, f"unexpected first line: {line!r}"
    return proc, int(m.group(1))


async def test_node_serves_cli_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    assert zvhctl(cfg, "db", "upgrade").returncode == 0
    proc, port = await start_node(cfg)
    try:
        aanvraag = tmp_path / "casus.json"
        aanvraag.write_text(
            json.dumps(
                {
                    "requestId": "pgax-1",
                    "aanmelder": {"type": "AANMELDER_TYPE_GGZ"},
                    "thema": "THEMA_VERWARD_GEDRAG",
                    "orientatie": "ORIENTATIE_PERSOONSGERICHT",
                    "wgsCriteria": {
                        k: {"voldaan": True, "toelichting": "ja"}
                        for k in (
                            "aMeervoudigeProblematiek",
                            "bRegulierOnvoldoende",
                            "cGezamenlijkeAanpak",
                            "dVerwerkingNoodzakelijk",
                        )
                    },
                    "betrokkenen": [
                        {
                            "bsn": BSN_A,
                            "voornamen": "Fatima",
                            "achternaam": "El Amrani",
                            "geboortedatum": {"jaar": 1990, "maand": 7, "dag": 14},
                        }
                    ],
                }
            )
        )
        env = {**os.environ, "ZVH_ADRES": f"127.0.0.1:{port}", "ZVH_TOKEN": token_van("ic-carla")}

        def zvh(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(BIN / "zvh"), *args], capture_output=True, text=True, timeout=60, env=env, check=False
            )

        aangemeld = await asyncio.to_thread(zvh, "casus", "aanmelden", str(aanvraag))
        assert aangemeld.returncode == 0, aangemeld.stderr
        assert "Casus aangemeld" in aangemeld.stdout and "El Amrani" in aangemeld.stdout
        lijst = await asyncio.to_thread(zvh, "casus", "zoeken", "--status", "aangemeld")
        assert "verward_gedrag" in lijst.stdout
        fout = await asyncio.to_thread(zvh, "casus", "ophalen", "niet-een-id")
        assert fout.returncode == 1 and "ongeldige invoer" in fout.stderr and "casus_id" in fout.stderr
        zonder = await asyncio.to_thread(
            lambda: subprocess.run(
                [str(BIN / "zvh"), "--adres", f"127.0.0.1:{port}", "casus", "zoeken"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env={k: v for k, v in env.items() if k != "ZVH_TOKEN"},
            )
        )
        assert "niet aangemeld" in zonder.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 30)
    assert rc == 0
    assert zvhctl(cfg, "audit", "verify").stdout.count("intact") == 2

    # The verwerkingslog key is lost: the node does not quietly make a new one.
    (tmp_path / "data" / "verwerkingslog.key").unlink()
    r = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "zvh-node"), "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    regels = [regel for regel in r.stderr.splitlines() if not regel.startswith("{")]
    assert len(regels) == 1
    assert regels[0].startswith(
        f"zvh-node: verwerkingslog.sleutel: {tmp_path / 'data' / 'verwerkingslog.key'} is missing, but the "
        "processing log already has entries made with it ("
    )
    assert regels[0].endswith(
        "): restore the file from backup (a new key would break inzage for every past entry)"
    )
    assert not (tmp_path / "data" / "verwerkingslog.key").exists()


@pytest.mark.parametrize(
    ("extra", "env", "verwacht"),
    [
        (
            "",
            {"ZVH_CASUSREGISTER__BEWAARTERMIJN_DAGEN": "lang"},
            "casusregister.bewaartermijn_dagen: must be a whole number",
        ),
        ("", {"ZVH_REGIO": "Regio West!"}, "regio: must be a short lower-case code"),
        ("", {"ZVH_DATABASE__URL": "mysql://x"}, "database.url: use sqlite:///PATH"),
        ('[tls]\ncert = "geen.crt"\nkey = "geen.key"\n', {}, "tls.cert: file"),
    ],
)
def test_bad_setting_stops_with_one_clear_line(
    tmp_path: Path, extra: str, env: dict[str, str], verwacht: str
) -> None:
    cfg = config(tmp_path, extra)
    r = subprocess.run(
        [str(BIN / "zvh-node"), "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )
    assert r.returncode == 2
    assert verwacht in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_node_refuses_a_database_that_was_not_migrated(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(BIN / "zvh-node"), "--config", str(config(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2
    assert "zvhctl db upgrade" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_unknown_setting_stops_with_its_name(tmp_path: Path) -> None:
    from gedeeld import config as configuratie
    from gedeeld.fouten import ConfigError

    cfg = config(tmp_path, "[nats]\nwachtword = 'x'\n")
    with pytest.raises(ConfigError) as e:
        configuratie.laad(cfg, env={})
    assert e.value.setting == "nats.wachtword" and "unknown setting" in e.value.message
    with pytest.raises(ConfigError) as e:
        configuratie.laad(config(tmp_path), env={"ZVH_CASUSREGISTER__LISTN": "127.0.0.1:1"})
    assert e.value.setting == "casusregister.listn"
    # Free-form tables and the users' own ZVH_ variables are not settings of the node.
    ok = config(tmp_path, "[verwerkingsactiviteiten]\ninzage = 'urn:x'\n")
    assert configuratie.laad(ok, env={"ZVH_TOKEN": "t", "ZVH_ADRES": "a"}).activiteiten == {"inzage": "urn:x"}
