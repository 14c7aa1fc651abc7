"""The three commands of a DKG round, as operators run them: each region and the beheerder in
its own zvhctl process, over a real nats-server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gedeeld import config as configuratie
from gedeeld.crypto.groep import Element
from gedeeld.crypto.oprf import oprf
from gedeeld.crypto.shamir import Sleuteldeel, herstel
from gedeeld.federatie import Federatie, laad
from gedeeld.federatie.pseudonimiseerder import Pseudonimiseerder
from gedeeld.federatie.sleutels import RegioSleutels
from gedeeld.nats.hubconfig import inbox_prefix
from gedeeld.nats.server import NatsServer
from gedeeld.nats.verbinding import verbind
from gedeeld.zvh.v1 import dkg_pb2 as D
from services.node.opstart import Node
from tests.conftest import migreer, schrijf_tokens

ZVHCTL = str(Path(sys.executable).parent / "zvhctl")
REGIOS = ["wvv", "arnhem", "haaglanden", "ijsselland", "zeeland"]


async def zvhctl(*args: str, cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        ZVHCTL, *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    uit, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, uit.decode()


async def ronde(
    tmp: Path, url: str, beheerder: str, ronde_id: str, uit: str, *extra: str
) -> list[tuple[int, str]]:
    start = zvhctl(
        "federatie",
        "dkg",
        "start",
        "--regios",
        "regios.toml",
        "--drempel",
        "3",
        "--beheerder",
        "beheer/beheerder.key",
        "--nats",
        url,
        "--uit",
        uit,
        "--ronde",
        ronde_id,
        "--fase-seconden",
        "60",
        *extra,
        cwd=tmp,
    )
    regios = [
        zvhctl(
            "federatie",
            "dkg",
            "deelnemen",
            "--ronde",
            ronde_id,
            "--regio",
            r,
            "--sleutels",
            f"sleutels/{r}",
            "--beheerder",
            beheerder,
            "--nats",
            url,
            "--wacht",
            "90",
            cwd=tmp,
        )
        for r in REGIOS
    ]
    return list(await asyncio.gather(start, *regios))


def schrijf_regios(tmp: Path, publiek: dict[str, str]) -> None:
    regels = []
    for r, p in publiek.items():
        regels += ["[[regio]]", f'code = "{r}"', f'naam = "ZVH {r}"', p, f'contact = "pr@{r}.invalid"']
    (tmp / "regios.toml").write_text("\n".join(regels))


def delen(tmp: Path, reg: str, beheerder: str) -> tuple[Federatie, list[Sleuteldeel]]:
    fed = laad(tmp / reg, bytes.fromhex(beheerder))
    return fed, [
        fed.laad_sleuteldeel(r, RegioSleutels.lees(tmp / "sleutels" / r).hpke, tmp / "sleutels" / r)
        for r in fed.regios
    ]


def knoei(tmp: Path, bron: str, doel: str) -> None:
    t = D.DkgTranscript.FromString((tmp / bron).read_bytes())
    t.bundels[1].berichten.pop()
    (tmp / doel).write_bytes(t.SerializeToString())


def gedeelde_bestanden(tmp: Path) -> list[str]:
    return sorted(p.name for p in (tmp / "sleutels" / "wvv").glob("sleuteldeel-*"))


@pytest.mark.timeout(360)  # some 20 zvhctl processes and three nodes: slow on a loaded machine
async def test_dkg_refresh_verify_and_clean_up_from_the_command_line(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    code, beheerder = await zvhctl("federatie", "beheerder", "--map", "beheer", cwd=tmp_path)
    beheerder = beheerder.strip()
    publiek = {}  # the regions' own keys (`zvhctl federatie sleutels`, tested elsewhere), in-process
    for r in REGIOS:
        sleutels = RegioSleutels.nieuw()
        sleutels.schrijf(tmp_path / "sleutels" / r)
        publiek[r] = (
            f'ondertekensleutel = "{sleutels.ondertekening.publiek.hex()}"\n'
            f'hpke_sleutel = "{sleutels.hpke.publiek.hex()}"\n'
        )
    schrijf_regios(tmp_path, publiek)

    uitkomsten = await ronde(tmp_path, nats_server.url, beheerder, "e1-eerste", "federatie.reg")
    assert all(c == 0 for c, _ in uitkomsten), uitkomsten
    assert "no one, the beheerder included, saw the key" in uitkomsten[0][1]
    assert "wvv holds share 1" in uitkomsten[1][1]

    code, uit = await zvhctl(
        "federatie",
        "verify",
        "--register",
        "federatie.reg",
        "--beheerder",
        beheerder,
        "--transcript",
        "federatie.reg.transcript",
        cwd=tmp_path,
    )
    assert code == 0 and "transcript of round e1-eerste replays to this registry" in uit, uit
    assert "threshold 3 of 5" in uit
    knoei(tmp_path, "federatie.reg.transcript", "geknoeid.transcript")
    code, uit = await zvhctl(
        "federatie",
        "verify",
        "--register",
        "federatie.reg",
        "--transcript",
        "geknoeid.transcript",
        cwd=tmp_path,
    )
    assert code == 1 and "INVALID transcript" in uit

    # A refresh: the same regions, new shares of the same key.
    uitkomsten = await ronde(
        tmp_path, nats_server.url, beheerder, "e1-verversing", "federatie-g1.reg", "--vorig", "federatie.reg"
    )
    assert all(c == 0 for c, _ in uitkomsten), uitkomsten
    oud, oude_delen = delen(tmp_path, "federatie.reg", beheerder)
    nieuw, nieuwe_delen = delen(tmp_path, "federatie-g1.reg", beheerder)
    assert (nieuw.epoch, nieuw.generatie) == (1, 1)
    k = herstel(nieuwe_delen[:3])  # test oracle
    assert herstel(oude_delen[2:]) == k
    assert Element.basis_maal(k) == oud.sleutel_commitment == nieuw.sleutel_commitment
    assert {d.waarde for d in oude_delen}.isdisjoint(d.waarde for d in nieuwe_delen)

    assert gedeelde_bestanden(tmp_path) == ["sleuteldeel-e1-g0.key", "sleuteldeel-e1-g1.key"]
    code, uit = await zvhctl(
        "federatie", "opruimen", "--sleutels", "sleutels/wvv", "--register", "federatie-g1.reg", cwd=tmp_path
    )
    assert code == 0 and "sleuteldeel-e1-g0.key" in uit
    assert gedeelde_bestanden(tmp_path) == ["sleuteldeel-e1-g1.key"]

    # Nodes load the DKG registry and their own share file, and serve it (as in production).
    tokens = await node_tokens(tmp_path, nats_server.url, beheerder, "federatie-g1.reg")
    assert tokens == [oprf(k, b"a"), oprf(k, b"b")]


async def node_tokens(tmp: Path, url: str, beheerder: str, register: str) -> list[bytes]:
    """Three regions run a node with ``register``; a fourth pseudonymises through them."""
    nodes = []
    schrijf_tokens(tmp / "tokens.toml")
    try:
        for r in REGIOS[:3]:
            (tmp / f"{r}.toml").write_text(
                f'regio = "{r}"\ndata_dir = "data/{r}"\n[nats]\nurl = "{url}"\n'
                f'[auth]\ntokens = "tokens.toml"\n[casusregister]\nlisten = "127.0.0.1:0"\n'
                f'[federatie]\nregister = "{register}"\nbeheerder_sleutel = "{beheerder}"\n'
                f'sleutels = "sleutels/{r}"\n'
            )
            cfg = configuratie.laad(tmp / f"{r}.toml", env={})
            cfg.data_dir.mkdir(parents=True)
            node = Node(cfg)
            await migreer(node.db)
            await node.start()
            nodes.append(node)
        federatie = laad(tmp / register, bytes.fromhex(beheerder))
        nc = await verbind(url, "zeeland", inbox_prefix=inbox_prefix("zeeland"))
        try:
            sleutels = RegioSleutels.lees(tmp / "sleutels" / "zeeland")
            client = Pseudonimiseerder(nc, "zeeland", federatie, sleutels.ondertekening, per_houder=0.5)
            return await client.tokens([b"a", b"b"])
        finally:
            await nc.close()
    finally:
        for node in nodes:
            await node.stop(grace=1)
