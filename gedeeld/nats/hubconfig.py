"""nats-server configuration for the federation hub: an account per region, and one account
(``FED``) that holds the federation's streams and consumers.

A region can hurt another only through what crosses between accounts, and nothing crosses that is
not named here (nats-server enforces it; interest, subscriptions and loop-detection subjects stay
inside their account)::

    region account R exports (service)    zvh.oprf.R, zvh.vraag.R        to every other region
    FED exports (service) to R only       zvh.signaal.R                  R publishes its own signals
                                          zvh.treffer.*.R, zvh.overleg.*.R   R sends as itself
                                          $JS.API.CONSUMER.MSG.NEXT.<stream>.R  fetch from R's consumers
                                          $JS.API.CONSUMER.INFO.<stream>.R      their state (lag)
                                          $JS.ACK.<stream>.R.>                  ack/nak/term R's messages
                                          $JS.API.STREAM.INFO.<stream>          SIGNALEN, R's inbound streams
    FED exports (service) to every region $JS.API.STREAM.INFO.SIGNALEN

Everything else on the hub's JetStream (creating, changing, deleting, resetting streams or
consumers, reading messages directly) is reserved to FED's ``beheer`` user:
``zvhctl federatie nats-stromen`` creates the streams *and* every region's durable consumers from
``gedeeld.nats.onderwerpen``. The JetStream subjects name the sending region and a region can only
send under its own code, so a receiver learns who sent a message from where it arrived.

On top, each region's user has publish/subscribe permissions listing exactly the subjects above:
anything else it tries is refused by nats-server and logged there as a permissions violation
(``zvhctl federatie hub-wacht`` counts them per region), instead of vanishing silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from cryptography import x509
from cryptography.x509.oid import NameOID

from gedeeld.nats import onderwerpen
from gedeeld.nats.onderwerpen import SIGNALEN, stroom

__all__ = ["stroom"]

_CODE = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
FED = "FED"  # the account of the federation's streams and consumers, and of the beheer user


def account(regio: str) -> str:
    """The hub account of a region: ``REGIO_WVV``."""
    return "REGIO_" + regio.upper().replace("-", "_")


def inbox_prefix(regio: str) -> str:
    return f"_INBOX.{regio}"


def _js_api_voor(regio: str) -> list[str]:
    """The JetStream API subjects (without the ``$JS.API.`` prefix) a region may use: fetch from and
    look at its own durable consumers, and look at the streams they are on."""
    api: list[str] = []
    for c in onderwerpen.consumenten(regio):
        api += [f"CONSUMER.MSG.NEXT.{c.stroom}.{c.durable}", f"CONSUMER.INFO.{c.stroom}.{c.durable}"]
    api += [f"STREAM.INFO.{c.stroom}" for c in onderwerpen.consumenten(regio)]
    return api


def _acks_voor(regio: str) -> list[str]:
    return [f"$JS.ACK.{c.stroom}.{c.durable}.>" for c in onderwerpen.consumenten(regio)]


def _verzendt(regio: str) -> list[str]:
    """What a region may put into the federation's streams: only under its own code."""
    return [
        onderwerpen.signaal(regio),
        onderwerpen.van("treffer", regio),
        onderwerpen.van("overleg", regio),
        onderwerpen.trend(regio),
    ]


def _dkg(regio: str) -> str:
    """A region's requests to the beheerder in any DKG round (``onderwerpen.dkg``)."""
    return onderwerpen.dkg_van(regio)


def permissies(regio: str, domein: str = "") -> dict[str, object]:
    """The region user's permissions: exactly what crosses its account's boundary, with the
    JetStream API under ``$JS.<domein>.API`` (a leaf node reaches a hub in another domain that way)
    or ``$JS.API`` without a domain."""
    prefix = f"$JS.{domein}.API." if domein else "$JS.API."
    return {
        "publish": {
            "allow": [
                *_verzendt(regio),
                onderwerpen.alle("oprf"),
                onderwerpen.alle("vraag"),
                _dkg(regio),
                *(prefix + s for s in _js_api_voor(regio)),
                *_acks_voor(regio),
                # Answers to requests from other regions: nats-server gives each request that
                # crossed into this account a private reply subject under _R_.
                "_R_.>",
                # Answers addressed through a leaf node (see antwoord_inbox).
                antwoord_inbox("*", regio) + ".>",
            ]
        },
        "subscribe": {
            "allow": [
                onderwerpen.oprf(regio),
                onderwerpen.vraag(regio),
                f"{inbox_prefix(regio)}.>",
            ]
        },
        "allow_responses": {"max": 1, "expires": "1m"},
    }


def _gebruiker(
    regio: str, wachtwoord: str | None, certificaat_dn: str | None, domein: str
) -> dict[str, object]:
    if certificaat_dn is not None:
        # The user is the leaf certificate's subject: no password; only a leaf node (over the
        # leaf node port's verify_and_map) can log in as it, not a client.
        return {
            "user": certificaat_dn,
            "permissions": permissies(regio, domein),
            "allowed_connection_types": ["LEAFNODE"],
        }
    return {"user": regio, "password": wachtwoord, "permissions": permissies(regio, domein)}


def accounts(
    regios: Sequence[str],
    *,
    beheer_wachtwoord: str,
    domein: str = "",
    wachtwoorden: Mapping[str, str] | None = None,
    leaf_certificaten: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The ``accounts`` block: FED (JetStream, the beheer user, the exports above) and one account
    per region with its one user (by password, or by its leaf certificate's DN)."""
    if (wachtwoorden is None) == (leaf_certificaten is None):
        raise ValueError("give each region either a password or a leaf certificate subject")
    fed_exports: list[dict[str, object]] = [
        {"service": f"$JS.API.STREAM.INFO.{SIGNALEN}", "accounts": [account(r) for r in regios]}
    ]
    blokken: dict[str, object] = {}
    for r in regios:
        eigen = [account(r)]
        fed_exports += [{"service": s, "accounts": eigen} for s in _verzendt(r)]
        fed_exports += [
            # A fetch of n messages is one request with n responses: without "stream" a service
            # import passes one response per request, and a node catching up reads one message per
            # fetch timeout.
            {"service": "$JS.API." + s, "accounts": eigen, "response_type": "stream"}
            if s.startswith("CONSUMER.MSG.NEXT.")
            else {"service": "$JS.API." + s, "accounts": eigen}
            for s in _js_api_voor(r)
            if s != f"STREAM.INFO.{SIGNALEN}"
        ]
        fed_exports += [{"service": s, "accounts": eigen} for s in _acks_voor(r)]
        # A key ceremony without a dealer: the region's messages to the beheerder, who relays.
        fed_exports.append({"service": _dkg(r), "accounts": eigen})
        anderen = [account(q) for q in regios if q != r]
        imports: list[dict[str, object]] = [{"service": {"account": FED, "subject": s}} for s in _verzendt(r)]
        imports += [{"service": {"account": FED, "subject": "$JS.API." + s}} for s in _js_api_voor(r)]
        imports += [{"service": {"account": FED, "subject": s}} for s in _acks_voor(r)]
        imports.append({"service": {"account": FED, "subject": _dkg(r)}})
        for q in regios:
            if q != r:
                imports += [
                    {"service": {"account": account(q), "subject": onderwerpen.oprf(q)}},
                    {"service": {"account": account(q), "subject": onderwerpen.vraag(q)}},
                ]
        blokken[account(r)] = {
            "users": [
                _gebruiker(
                    r,
                    None if wachtwoorden is None else wachtwoorden[r],
                    None if leaf_certificaten is None else leaf_certificaten[r],
                    domein,
                )
            ],
            "exports": (
                [
                    {"service": onderwerpen.oprf(r), "accounts": anderen},
                    {"service": onderwerpen.vraag(r), "accounts": anderen},
                ]
                if anderen
                else []
            ),
            "imports": imports,
        }
    return {
        FED: {
            "jetstream": "enabled",
            "users": [{"user": "beheer", "password": beheer_wachtwoord}],
            "exports": fed_exports,
        },
        **blokken,
    }


def hub_config(
    regios: Sequence[str],
    wachtwoorden: Mapping[str, str],
    *,
    store_dir: str,
    beheer_wachtwoord: str,
    max_payload: int = 256 * 1024,
    luister: str = "127.0.0.1",
    poort: int = 4222,
) -> str:
    """A single-server hub (no cluster, no JetStream domain): the same accounts as the cluster."""
    for r in regios:
        if not _CODE.match(r):
            raise ValueError(f"invalid region code {r!r}")
    return _als_config(
        {
            "listen": f"{luister}:{poort}",
            "max_payload": max_payload,
            "jetstream": {"store_dir": store_dir},
            "accounts": accounts(regios, beheer_wachtwoord=beheer_wachtwoord, wachtwoorden=wachtwoorden),
        }
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
    """``permissies`` on the hub cluster, whose JetStream lives in domain ``domein``."""
    return permissies(regio, domein)


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
    monitor_luister: str = "127.0.0.1",
) -> str:
    """The config of hub server ``i`` (0-based) of the cluster ``hub``.

    Clients and leaf nodes authenticate against the users of ``accounts``: ``beheer`` in FED
    (creates the streams and consumers) and one user per region in the region's own account, with
    ``hub_permissies``; a region's leaf node connects as that region's user, so what the leaf may
    export (publish) and import (subscribe) is bounded by both the account's imports and the
    permission table. Routes between the hub servers authenticate with ``route_wachtwoord``.

    The monitoring endpoint (``HubServer.monitor``) listens on ``monitor_luister``, loopback by
    default: it has no authentication of its own and shows every connection (a leaf's
    loop-detection subject among them), so it is for the hub's own operators only; to reach it
    from elsewhere, put an authenticating reverse proxy in front of it.

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
    # No authorization block of its own: a leaf node logs in as one of the accounts' users and
    # gets that user's account and permissions (leafnodes.authorization.users has no
    # permissions); with verify_and_map its certificate picks the user from the same list.
    leafnodes: dict[str, object] = {"listen": f"{luister}:{zelf.leafnode}"}
    config: dict[str, object] = {
        "server_name": f"{cluster_naam}-{i + 1}",
        "listen": f"{luister}:{zelf.client}",
        "max_payload": max_payload,
        "jetstream": {"store_dir": store_dir, "domain": domein},
        "cluster": cluster,
        "leafnodes": leafnodes,
        "accounts": accounts(
            regios,
            beheer_wachtwoord=beheer_wachtwoord,
            domein=domein,
            wachtwoorden=None if leaf_certificaten is not None else wachtwoorden,
            leaf_certificaten=leaf_certificaten,
        ),
    }
    if tls is not None:
        config["tls"] = tls.blok()
        cluster["tls"] = tls.blok(verify=True)
        leafnodes["tls"] = tls.blok(verify=True, verify_and_map=leaf_certificaten is not None)
    if zelf.monitor:
        config["http"] = f"{monitor_luister}:{zelf.monitor}"
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
