"""nats-server configuration for the federation hub: one user per region whose
permissions are exactly the architecture's table.

| subject                                  | publish          | subscribe        |
|------------------------------------------|------------------|------------------|
| zvh.signaal.<own>                        | own region only  | all regions      |
| zvh.treffer.<r> / zvh.overleg.<r>        | any region       | region r only    |
| zvh.oprf.<r> / zvh.vraag.<r>             | any (request)    | region r only    |
| _INBOX.<own>.>                           | —                | own region only  |

JetStream would let a consumer read around subscribe permissions, so each
region may only use the JetStream API on its own inbound streams
(``TREFFER_<R>``, ``OVERLEG_<R>``) and its own durable consumer on the shared
``SIGNALEN`` stream; streams are created by the hub's ``beheer`` user. Replies
to requests are allowed through ``allow_responses``. Clients must connect with
``inbox_prefix="_INBOX.<own>"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


def inbox_prefix(regio: str) -> str:
    return f"_INBOX.{regio}"


def stroom(soort: str, regio: str) -> str:
    return f"{soort.upper()}_{regio.upper().replace('-', '_')}"


def permissies(regio: str) -> dict[str, object]:
    own_streams = [stroom("treffer", regio), stroom("overleg", regio)]
    js_api = [
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.SIGNALEN",
        f"$JS.API.CONSUMER.CREATE.SIGNALEN.{regio}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.SIGNALEN.{regio}",
        f"$JS.API.CONSUMER.INFO.SIGNALEN.{regio}",
        f"$JS.API.CONSUMER.MSG.NEXT.SIGNALEN.{regio}",
        f"$JS.ACK.SIGNALEN.{regio}.>",
    ]
    for s in own_streams:
        js_api += [
            f"$JS.API.STREAM.INFO.{s}",
            f"$JS.API.CONSUMER.CREATE.{s}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{s}.>",
            f"$JS.API.CONSUMER.INFO.{s}.>",
            f"$JS.API.CONSUMER.MSG.NEXT.{s}.>",
            f"$JS.ACK.{s}.>",
        ]
    return {
        "publish": {
            "allow": [
                f"zvh.signaal.{regio}",
                "zvh.treffer.*",
                "zvh.overleg.*",
                "zvh.oprf.*",
                "zvh.vraag.*",
                *js_api,
            ]
        },
        "subscribe": {
            "allow": [
                "zvh.signaal.*",
                f"zvh.treffer.{regio}",
                f"zvh.overleg.{regio}",
                f"zvh.oprf.{regio}",
                f"zvh.vraag.{regio}",
                f"{inbox_prefix(regio)}.>",
            ]
        },
        "allow_responses": {"max": 1, "expires": "1m"},
    }


def hub_config(
    regios: Sequence[str],
    wachtwoorden: Mapping[str, str],
    *,
    store_dir: str,
    beheer_wachtwoord: str,
    max_payload: int = 256 * 1024,
) -> str:
    """A single-server hub config (the cluster variant adds cluster/leafnode blocks)."""
    for r in regios:
        if not _CODE.match(r):
            raise ValueError(f"invalid region code {r!r}")
    users = [
        {"user": "beheer", "password": beheer_wachtwoord},
        *({"user": r, "password": wachtwoorden[r], "permissions": permissies(r)} for r in regios),
    ]
    # nats-server's config format accepts JSON for values; keys are written plainly.
    return (
        f"jetstream {{ store_dir: {json.dumps(store_dir)} }}\n"
        f"max_payload: {max_payload}\n"
        f"authorization {{ users: {json.dumps(users, indent=2)} }}\n"
    )
