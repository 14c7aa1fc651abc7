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
from dataclasses import dataclass
from urllib.parse import quote

from cryptography import x509
from cryptography.x509.oid import NameOID

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


# --- The federation hub as a cluster, and a leaf node per region -----------------------------
#
# Topology: three (or five) hub servers form one nats-server cluster with JetStream in domain
# ``hub`` (SIGNALEN, TREFFER_<R>, OVERLEG_<R>, replicated over the servers). Each region runs
# a leaf node with its own JetStream in its own domain (the region code), which holds the
# region-local stream REGIO_<R>. The leaf connects to the hub as the region's user, so the hub
# applies ``permissies`` to everything the leaf sends (publish) and receives (subscribe); the
# JetStream API of the hub is reached from the leaf as ``$JS.hub.API.>`` (``$JS.API.>`` never
# crosses a leaf connection between different domains), hence ``hub_permissies``.

HUB_DOMEIN = "hub"
HUB_CLUSTER = "zvh-hub"
NODE_GEBRUIKER = "node"
_JS_API = "$JS.API."


@dataclass(frozen=True)
class HubServer:
    """Where one hub server is reached: clients, the other hub servers (routes), leaf nodes,
    and its monitoring endpoint (0: none)."""

    host: str
    client: int = 4222
    cluster: int = 6222
    leafnode: int = 7422
    monitor: int = 8222


@dataclass(frozen=True)
class TlsBestanden:
    """Certificate files of one nats-server, as paths on the machine it runs on (nats-server
    reads relative paths from its working directory, not from the config's directory).

    ``ca`` verifies the other side (clients that present a certificate, the other hub servers, a
    leaf node; for a leaf node's remote: the hub servers); ``cert``/``key`` are the server's own,
    presented both as server and as client certificate (routes, the leaf's connection to the hub).
    """

    ca: str
    cert: str
    key: str
    timeout: float = 2.0  # seconds for a TLS handshake (nats-server's default 0.5 is short for WANs)

    def blok(self, *, verify: bool = False, verify_and_map: bool = False) -> dict[str, object]:
        blok: dict[str, object] = {
            "cert_file": self.cert,
            "key_file": self.key,
            "ca_file": self.ca,
            "timeout": self.timeout,
        }
        if verify_and_map:
            # The other side must present a certificate signed by ``ca``, and the certificate's
            # subject DN is the user it logs in as (no user name or password from the client).
            blok["verify_and_map"] = True
        elif verify:
            blok["verify"] = True  # the other side must present a certificate signed by ``ca``
        return blok


# The attribute types nats-server can match in a certificate subject (its internal/ldap
# ``attributeTypeNames``); a subject with any other type (organizationIdentifier, emailAddress, …)
# cannot be matched as a DN by nats-server.
_DN_TYPEN = {
    NameOID.COMMON_NAME: "CN",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.POSTAL_CODE: "POSTALCODE",
    NameOID.DOMAIN_COMPONENT: "DC",
}


def certificaat_dn(naam: x509.Name) -> str:
    """A certificate subject as nats-server's ``verify_and_map`` names the user it maps to: RFC 4514
    (last RDN first), e.g. ``SERIALNUMBER=00000001234567890001,CN=zvh-leaf-wvv``. nats-server
    compares the RDNs in any order, values exactly. ValueError for an attribute type it cannot
    match."""
    onbekend = sorted({a.oid.dotted_string for a in naam if a.oid not in _DN_TYPEN})
    if onbekend:
        raise ValueError(f"subject attribute type(s) nats-server cannot map: {', '.join(onbekend)}")
    if not len(naam):
        raise ValueError("empty subject")
    return naam.rfc4514_string(_DN_TYPEN)


def _controleer_code(regio: str, *, domein: str) -> None:
    if not _CODE.match(regio):
        raise ValueError(f"invalid region code {regio!r}")
    if regio == domein:
        raise ValueError(f"region code {regio!r} equals the hub's JetStream domain")


def _controleer_hub(hub: Sequence[HubServer]) -> None:
    if len(hub) < 3 or len(hub) % 2 == 0:
        raise ValueError("a hub cluster needs an odd number of servers, at least 3 (JetStream quorum)")
    adressen = [(s.host, p) for s in hub for p in (s.client, s.cluster, s.leafnode, s.monitor) if p]
    if len(set(adressen)) != len(adressen):
        raise ValueError("two hub listeners share a host and port")


def antwoord_inbox(aanvrager: str, beantwoorder: str) -> str:
    """The reply-subject prefix for a request from ``aanvrager`` that ``beantwoorder`` answers.

    Between leaf nodes ``allow_responses`` does not work: the hub only propagates interest a leaf
    may publish to, so a reply to ``_INBOX.<aanvrager>.<random>`` never leaves the answering
    region's leaf (nats-server issue #2949). A region may therefore publish to
    ``_INBOX.*.<own>.>``: the inboxes in which another region expects an answer *from it*, and no
    other. Over leaf nodes, requesters must use reply subjects under this prefix.
    """
    return f"{inbox_prefix(aanvrager)}.{beantwoorder}"


def hub_permissies(regio: str, domein: str = HUB_DOMEIN) -> dict[str, object]:
    """``permissies(regio)`` for a region on the hub cluster (as a leaf node or a client there):
    the same subjects, with the JetStream API in the hub's domain (``$JS.<domein>.API.…``), plus
    publishing to the reply inboxes addressed to this region (see ``antwoord_inbox``)."""
    basis = permissies(regio)
    publish = basis["publish"]
    assert isinstance(publish, dict)
    allow = [
        f"$JS.{domein}.API." + s.removeprefix(_JS_API) if s.startswith(_JS_API) else s
        for s in publish["allow"]
    ]
    allow.append(antwoord_inbox("*", regio) + ".>")
    return {**basis, "publish": {"allow": allow}}


def _users(
    regios: Sequence[str],
    wachtwoorden: Mapping[str, str],
    beheer_wachtwoord: str,
    domein: str,
    leaf_certificaten: Mapping[str, str] | None,
) -> list[dict[str, object]]:
    users: list[dict[str, object]] = [{"user": "beheer", "password": beheer_wachtwoord}]
    for r in regios:
        if leaf_certificaten is None:
            users.append({"user": r, "password": wachtwoorden[r], "permissions": hub_permissies(r, domein)})
        else:
            # The user is the leaf certificate's subject: no password; only a leaf node (over the
            # leaf node port's verify_and_map) can log in as it, not a client.
            users.append(
                {
                    "user": leaf_certificaten[r],
                    "permissions": hub_permissies(r, domein),
                    "allowed_connection_types": ["LEAFNODE"],
                }
            )
    return users


def _gebruiker_url(schema: str, gebruiker: str, wachtwoord: str, host: str, poort: int) -> str:
    return f"{schema}://{quote(gebruiker, safe='')}:{quote(wachtwoord, safe='')}@{host}:{poort}"


def cluster_config(
    i: int,
    hub: Sequence[HubServer],
    regios: Sequence[str],
    wachtwoorden: Mapping[str, str],
    *,
    store_dir: str,
    beheer_wachtwoord: str,
    route_wachtwoord: str,
    luister: str = "0.0.0.0",  # noqa: S104 (a hub server serves other machines)
    domein: str = HUB_DOMEIN,
    cluster_naam: str = HUB_CLUSTER,
    max_payload: int = 256 * 1024,
    tls: TlsBestanden | None = None,
    leaf_certificaten: Mapping[str, str] | None = None,
) -> str:
    """The config of hub server ``i`` (0-based) of the cluster ``hub``.

    Clients and leaf nodes authenticate against the same users: ``beheer`` (everything; creates
    the streams) and one user per region with ``hub_permissies``; a region's leaf node connects
    as that region's user, so what the leaf may export (publish) and import (subscribe) is the
    permission table. Routes between the hub servers authenticate with ``route_wachtwoord``.

    With ``tls``: the client port requires TLS (clients verify the server; they log in with their
    password, a client certificate is not asked for), and the routes and the leaf node port require
    mutual TLS (``verify``: the other hub server, or the leaf node, must present a certificate
    signed by ``tls.ca``; without ``leaf_certificaten`` a leaf node then still logs in as its
    region's user, with its password).

    With ``tls`` and ``leaf_certificaten`` (region -> the subject DN of its leaf's certificate, as
    ``certificaat_dn`` renders it; every region): the leaf node port maps the certificate to the user
    (``verify_and_map``). Each region's user is then its certificate's DN, without a password and
    only for leaf node connections, and ``wachtwoorden`` is not used; a leaf logs in with no user or
    password, and whoever holds a region's certificate and key gets that region's permissions.
    """
    _controleer_hub(hub)
    if not 0 <= i < len(hub):
        raise ValueError(f"server index {i} outside the cluster of {len(hub)}")
    for r in regios:
        _controleer_code(r, domein=domein)
    if leaf_certificaten is not None:
        if tls is None:
            raise ValueError("leaf certificates need TLS")
        ontbreekt = [r for r in regios if not leaf_certificaten.get(r)]
        if ontbreekt:
            raise ValueError(f"no leaf certificate subject for {', '.join(ontbreekt)}")
        dns = [leaf_certificaten[r] for r in regios]
        if len(set(dns)) != len(dns):
            raise ValueError("two regions' leaf certificates have the same subject")
    zelf = hub[i]
    routes = [
        _gebruiker_url("nats-route", "route", route_wachtwoord, s.host, s.cluster)
        for j, s in enumerate(hub)
        if j != i
    ]
    cluster: dict[str, object] = {
        "name": cluster_naam,
        "listen": f"{luister}:{zelf.cluster}",
        "authorization": {"user": "route", "password": route_wachtwoord},
        "routes": routes,
    }
    # No authorization block of its own: a leaf node logs in as one of the users below and
    # gets that user's permissions (leafnodes.authorization.users has no permissions); with
    # verify_and_map its certificate picks the user from the same list.
    leafnodes: dict[str, object] = {"listen": f"{luister}:{zelf.leafnode}"}
    config: dict[str, object] = {
        "server_name": f"{cluster_naam}-{i + 1}",
        "listen": f"{luister}:{zelf.client}",
        "max_payload": max_payload,
        "jetstream": {"store_dir": store_dir, "domain": domein},
        "cluster": cluster,
        "leafnodes": leafnodes,
        "authorization": {
            "users": _users(regios, wachtwoorden, beheer_wachtwoord, domein, leaf_certificaten)
        },
    }
    if tls is not None:
        config["tls"] = tls.blok()
        cluster["tls"] = tls.blok(verify=True)
        leafnodes["tls"] = tls.blok(verify=True, verify_and_map=leaf_certificaten is not None)
    if zelf.monitor:
        config["http"] = f"{luister}:{zelf.monitor}"
    return _als_config(config)


def leaf_config(
    regio: str,
    hub: Sequence[HubServer],
    *,
    hub_wachtwoord: str | None,
    node_wachtwoord: str,
    store_dir: str,
    luister: str = "127.0.0.1",
    poort: int = 4222,
    monitor: int = 0,
    hub_domein: str = HUB_DOMEIN,
    max_payload: int = 256 * 1024,
    tls: TlsBestanden | None = None,
) -> str:
    """The config of region ``regio``'s leaf node.

    Its JetStream has its own domain (the region code) and holds REGIO_<R>; the node logs in as
    ``node``. The remote logs in on the hub servers as the region's user. Besides the hub's
    permissions, the leaf itself never exports ``regio.>`` and imports neither ``regio.>`` nor
    its own JetStream API: region-local events and the region-local streams stay on the leaf.

    With ``tls``: the client port requires mutual TLS (the node verifies the leaf with ``tls.ca``
    and presents its own certificate, signed by it, besides its password), and the remote connects
    to the hub servers over TLS (``tls://``), verifying them with ``tls.ca`` and presenting the
    leaf's certificate, which the hub's leaf node port requires. ``hub_wachtwoord`` None (only with
    ``tls``): the remote sends no user or password; the hub maps the leaf's certificate to the
    region's user (``cluster_config``'s ``leaf_certificaten``).
    """
    _controleer_hub(hub)
    _controleer_code(regio, domein=hub_domein)
    if hub_wachtwoord is None and tls is None:
        raise ValueError("a leaf without a hub password needs TLS (its certificate identifies it)")
    schema = "tls" if tls is not None else "nats-leaf"
    remote: dict[str, object] = {
        "urls": [
            f"{schema}://{s.host}:{s.leafnode}"
            if hub_wachtwoord is None
            else _gebruiker_url(schema, regio, hub_wachtwoord, s.host, s.leafnode)
            for s in hub
        ],
        "deny_exports": ["regio.>"],
        "deny_imports": ["regio.>", f"$JS.{regio}.API.>"],
    }
    if tls is not None:
        remote["tls"] = tls.blok()
    config: dict[str, object] = {
        "server_name": f"zvh-leaf-{regio}",
        "listen": f"{luister}:{poort}",
        "max_payload": max_payload,
        "jetstream": {"store_dir": store_dir, "domain": regio},
        "authorization": {"users": [{"user": NODE_GEBRUIKER, "password": node_wachtwoord}]},
        "leafnodes": {"remotes": [remote]},
    }
    if tls is not None:
        config["tls"] = tls.blok(verify=True)
    if monitor:
        config["http"] = f"{luister}:{monitor}"
    return _als_config(config)


def _als_config(config: Mapping[str, object]) -> str:
    # nats-server's config format accepts JSON for values; keys are written plainly.
    return "".join(f"{k}: {json.dumps(v, indent=2)}\n" for k, v in config.items())
