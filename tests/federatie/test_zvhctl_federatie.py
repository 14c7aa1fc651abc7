"""The ceremony from the command line, and nodes serving their key share."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gedeeld import config as configuratie
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import herstel
from gedeeld.federatie import laad
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import federatie_pb2 as F
from services.node.opstart import Node
from tests.conftest import migreer, schrijf_tokens

ZVHCTL = str(Path(sys.executable).parent / "zvhctl")
REGIOS = ["wvv", "arnhem", "haaglanden"]


def zvhctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ZVHCTL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


def ceremonie(tmp: Path) -> str:
    beheerder = zvhctl("federatie", "beheerder", "--map", "beheer", cwd=tmp).stdout.strip()
    regels = []
    for code in REGIOS:
        publiek = zvhctl("federatie", "sleutels", "--map", f"sleutels/{code}", cwd=tmp).stdout
        regels += [
            "[[regio]]",
            f'code = "{code}"',
            f'naam = "ZVH {code}"',
            publiek,
            f'contact = "pr@{code}.invalid"',
        ]
    (tmp / "regios.toml").write_text("\n".join(regels))
    r = zvhctl(
        "federatie",
        "init",
        "--regios",
        "regios.toml",
        "--drempel",
        "2",
        "--beheerder",
        "beheer/beheerder.key",
        "--uit",
        "federatie.reg",
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr
    assert "the key itself was not kept" in r.stdout
    return beheerder


def test_ceremony_and_verify_from_the_command_line(tmp_path: Path) -> None:
    beheerder = ceremonie(tmp_path)

    ok = zvhctl("federatie", "verify", "--register", "federatie.reg", "--beheerder", beheerder, cwd=tmp_path)
    assert ok.returncode == 0 and "threshold 2 of 3" in ok.stdout and "haaglanden" in ok.stdout
    ander = zvhctl(
        "federatie", "verify", "--register", "federatie.reg", "--beheerder", "00" * 32, cwd=tmp_path
    )
    assert ander.returncode == 1 and "another beheerder" in ander.stdout

    env = F.OndertekendRegister.FromString((tmp_path / "federatie.reg").read_bytes())
    reg = F.Federatieregister.FromString(env.register)
    reg.drempel = 1  # tampered after signing
    env.register = reg.SerializeToString()
    (tmp_path / "vervalst.reg").write_bytes(env.SerializeToString())
    vervalst = zvhctl("federatie", "verify", "--register", "vervalst.reg", cwd=tmp_path)
    assert vervalst.returncode == 1 and "signature does not verify" in vervalst.stdout
    again = zvhctl("federatie", "sleutels", "--map", "sleutels/wvv", cwd=tmp_path)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr


async def test_nodes_serve_their_share_for_the_federation(tmp_path: Path, nats_server: NatsServer) -> None:
    beheerder = ceremonie(tmp_path)
    nodes = []
    try:
        for r in REGIOS[:2]:  # haaglanden stays offline: t = 2 of 3 is enough
            schrijf_tokens(tmp_path / "tokens.toml")
            (tmp_path / f"{r}.toml").write_text(
                f'regio = "{r}"\ndata_dir = "data/{r}"\n[nats]\nurl = "{nats_server.url}"\n'
                f'[auth]\ntokens = "tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
                f'[federatie]\nregister = "federatie.reg"\nbeheerder_sleutel = "{beheerder}"\n'
                f'sleutels = "sleutels/{r}"\n'
            )
            cfg = configuratie.laad(tmp_path / f"{r}.toml", env={})
            cfg.data_dir.mkdir(parents=True)
            node = Node(cfg)
            await migreer(node.db)
            await node.start()
            nodes.append(node)
        federatie = laad(tmp_path / "federatie.reg", bytes.fromhex(beheerder))
        haaglanden = RegioSleutels.lees(tmp_path / "sleutels" / "haaglanden")
        nc = await verbind(nats_server.url, "haaglanden", inbox_prefix=inbox_prefix("haaglanden"))
        client = Pseudonimiseerder(nc, "haaglanden", federatie, haaglanden.ondertekening, per_houder=0.5)

        tokens = await client.tokens([b"a", b"b"])

        k = herstel(
            [
                federatie.laad_sleuteldeel(r, RegioSleutels.lees(tmp_path / "sleutels" / r).hpke)
                for r in REGIOS
            ]
        )
        assert tokens == [oprf(k, b"a"), oprf(k, b"b")]
        await nc.close()
    finally:
        for node in nodes:
            await node.stop(grace=1)


def test_the_beheerder_signs_an_onboarding_window_and_a_node_checks_it(tmp_path: Path) -> None:
    from gedeeld.federatie.onboarding import lees_onboarding
    from gedeeld.fouten import ConfigError
    from services.signalering.server import bouw_signalering

    beheerder = ceremonie(tmp_path)
    argumenten = ["--beheerder", "beheer/beheerder.key", "--register", "federatie.reg", "--extra", "20000"]
    r = zvhctl(
        "federatie", "onboarding", *argumenten, "--regio", "wvv", "--van", "2026-12-01", "--tot",
        "2026-12-08", "--reden", "aansluiting", "--uit", "wvv.onboarding", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "region wvv may take 20000 extra evaluations" in r.stdout
    venster = lees_onboarding((tmp_path / "wvv.onboarding").read_bytes(), bytes.fromhex(beheerder))
    assert (venster.regio, venster.extra, venster.reden) == ("wvv", 20000, "aansluiting")
    assert (venster.tot - venster.van).days == 7

    onbekend = zvhctl(
        "federatie", "onboarding", *argumenten, "--regio", "atlantis", "--van", "2026-12-01", "--tot",
        "2026-12-08", "--uit", "x", cwd=tmp_path,
    )  # fmt: skip
    assert onbekend.returncode == 2 and "not in the registry" in onbekend.stderr
    omgekeerd = zvhctl(
        "federatie", "onboarding", *argumenten, "--regio", "wvv", "--van", "2026-12-08", "--tot",
        "2026-12-01", "--uit", "x", cwd=tmp_path,
    )  # fmt: skip
    assert omgekeerd.returncode == 2 and "--tot" in omgekeerd.stderr

    # A node configured with another region's window refuses to start, naming the setting.
    schrijf_tokens(tmp_path / "tokens.toml")
    (tmp_path / "arnhem.toml").write_text(
        f'regio = "arnhem"\ndata_dir = "data/arnhem"\n[nats]\nurl = "nats://127.0.0.1:1"\n'
        f'[auth]\ntokens = "tokens.toml"\n[federatie]\nregister = "federatie.reg"\n'
        f'beheerder_sleutel = "{beheerder}"\nsleutels = "sleutels/arnhem"\nonboarding = "wvv.onboarding"\n'
    )
    cfg = configuratie.laad(tmp_path / "arnhem.toml", env={})
    with pytest.raises(ConfigError, match="for region wvv, not arnhem"):
        bouw_signalering(cfg, None, None)  # type: ignore[arg-type]
