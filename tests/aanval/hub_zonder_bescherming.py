"""The hub as it was before isolation, for the attack tests' first step ("can this test see the
harm at all?"): every region in one account, without permissions. Test code only: it rewrites the
configs ``zvhctl federatie nats`` generated, so the protected and the unprotected hub differ in
exactly the isolation (accounts and permissions) and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

_SLEUTEL = re.compile(r"^([A-Za-z_]+): ", re.MULTILINE)


def lees_config(tekst: str) -> dict[str, object]:
    """The ``key: <json>`` blocks ``gedeeld.nats.hubconfig`` writes (comments skipped)."""
    tekst = "\n".join(r for r in tekst.splitlines() if not r.startswith("#"))
    delen = list(_SLEUTEL.finditer(tekst))
    config: dict[str, object] = {}
    for i, m in enumerate(delen):
        einde = delen[i + 1].start() if i + 1 < len(delen) else len(tekst)
        config[m.group(1)] = json.loads(tekst[m.end() : einde])
    return config


def een_account(pad: Path) -> None:
    """Rewrite one hub server's config: all users (beheer and every region's) in the global
    account, with no permissions; the rest of the server (cluster, TLS, JetStream) unchanged."""
    config = lees_config(pad.read_text())
    accounts = config.pop("accounts")
    assert isinstance(accounts, dict)
    users = []
    for account in accounts.values():
        for user in account["users"]:
            users.append({k: v for k, v in user.items() if k != "permissions"})
    config["authorization"] = {"users": users}
    pad.write_text("".join(f"{k}: {json.dumps(v, indent=2)}\n" for k, v in config.items()))
