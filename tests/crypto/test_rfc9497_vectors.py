"""RFC 9497 Appendix A.1 (ristretto255-SHA512), modes 0 and 1: every vector."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gedeeld.crypto.groep import Element, Scalar
from gedeeld.crypto.oprf import (
    Modus,
    controleer_bewijs,
    evalueer,
    leid_sleutelpaar_af,
    maak_bewijs,
    verblind,
    voltooi,
)
from gedeeld.fouten import InvalidProofError

SUITES = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc9497-ristretto255-sha512.json").read_text()
)["suites"]
GEVALLEN = [(s, v) for s in SUITES for v in s["vectors"]]


def lijst(waarde: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in waarde.split(",")]


def ids(geval: tuple[dict[str, Any], dict[str, Any]]) -> str:
    s, v = geval
    return f"mode{s['mode']}-batch{v['Batch']}-{v['Input'][:8]}"


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: f"mode{s['mode']}")
def test_derive_key_pair(suite: dict[str, Any]) -> None:
    paar = leid_sleutelpaar_af(
        bytes.fromhex(suite["seed"]), bytes.fromhex(suite["keyInfo"]), Modus(suite["mode"])
    )
    assert paar.geheim.data.hex() == suite["skSm"]
    if "pkSm" in suite:
        assert paar.publiek.data.hex() == suite["pkSm"]


@pytest.mark.parametrize("geval", GEVALLEN, ids=ids)
def test_blind_evaluate_finalize(geval: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, v = geval
    modus = Modus(suite["mode"])
    sk = Scalar.lees(bytes.fromhex(suite["skSm"]))
    for invoer, blind, geblindeerd, evaluatie, uitvoer in zip(
        lijst(v["Input"]),
        lijst(v["Blind"]),
        lijst(v["BlindedElement"]),
        lijst(v["EvaluationElement"]),
        lijst(v["Output"]),
        strict=True,
    ):
        b = verblind(invoer, modus, Scalar.lees(blind))
        assert b.geblindeerd.data == geblindeerd
        e = evalueer(sk, b.geblindeerd)
        assert e.data == evaluatie
        assert voltooi(invoer, b.blind, e) == uitvoer


@pytest.mark.parametrize("geval", [g for g in GEVALLEN if g[0]["mode"] == 1], ids=ids)
def test_proofs(geval: tuple[dict[str, Any], dict[str, Any]]) -> None:
    suite, v = geval
    sk = Scalar.lees(bytes.fromhex(suite["skSm"]))
    pk = Element.lees(bytes.fromhex(suite["pkSm"]))
    cs = [Element.lees(x) for x in lijst(v["BlindedElement"])]
    ds = [Element.lees(x) for x in lijst(v["EvaluationElement"])]
    bewijs = maak_bewijs(sk, pk, cs, ds, Modus.VOPRF, r=Scalar.lees(bytes.fromhex(v["Proof"]["r"])))
    assert bewijs.hex() == v["Proof"]["proof"]
    controleer_bewijs(pk, cs, ds, bewijs, Modus.VOPRF)
    vervalst = bewijs[:5] + bytes([bewijs[5] ^ 1]) + bewijs[6:]
    with pytest.raises(InvalidProofError):
        controleer_bewijs(pk, cs, ds, vervalst, Modus.VOPRF)
    with pytest.raises(InvalidProofError):
        controleer_bewijs(pk, cs, list(reversed(ds)) if len(ds) > 1 else [cs[0]], bewijs, Modus.VOPRF)
