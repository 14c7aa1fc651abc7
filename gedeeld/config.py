"""A region's node configuration: one TOML file, overridable by environment.

``ZVH_<SECTION>__<KEY>`` overrides ``[section] key`` (``ZVH_DATABASE__URL``);
``ZVH_REGIO`` overrides the top-level ``regio``. Everything is validated at
start-up; a bad setting raises ConfigError naming it, and the node prints that
one line and stops. docs/configuratie.md lists every setting.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gedeeld.fouten import ConfigError
from gedeeld.pki.tls import controleer_ca, controleer_certificaat, controleer_sleutel, controleer_tls

_REGIO = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
_LISTEN = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True)
class TlsConfig:
    cert: Path
    key: Path
    client_ca: Path | None  # set: client certificates are required (mTLS)
    # "regio": only this region's user and application certificates may call
    # (gedeeld/grpc/clientcertificaat.py);
    # "ca": any certificate of client_ca (the old behaviour; for a migration only).
    clientcertificaten: str = "regio"


@dataclass(frozen=True)
class NatsTlsConfig:
    """TLS to the region's NATS server (its leaf node): ``ca`` verifies the server; ``cert`` and
    ``key`` (both or neither) are the node's client certificate when the server asks for one."""

    ca: Path
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class NatsConfig:
    url: str = ""  # empty: start an embedded nats-server
    gebruiker: str = ""
    wachtwoord: str = ""
    # The JetStream domain of the federation hub, when the node reaches it through its leaf
    # node (docs/nats.md); empty: the federation streams are on the server the node talks to.
    hub_domein: str = ""
    tls: NatsTlsConfig | None = None


@dataclass(frozen=True)
class CasusregisterConfig:
    listen: str = "127.0.0.1:50051"
    max_concurrent_rpcs: int = 256
    bewaartermijn_dagen: int = 730
    bewaartermijn_interval_uren: float = 24.0
    gebeurtenis_max_age_dagen: int = 7
    # Refuse Aanmelden (RESOURCE_EXHAUSTED) while more of the region's own changes than this wait
    # for the federation (outbox + signalering's pending case events); 0: never refuse.
    max_achterstand: int = 5000


@dataclass(frozen=True)
class FederatieConfig:
    register: Path  # the signed registry file (federatie.reg)
    beheerder_sleutel: bytes  # the Ed25519 key of the registry's beheerder this node trusts
    sleutels: Path  # directory with this region's ondertekening.key and hpke.key
    oprf_per_seconde: float = 50.0  # sustained evaluations per requesting region
    oprf_burst: float = 20_000.0  # burst, for a region onboarding its existing cases
    # What one requesting region may take from this node's share holder (docs/crypto.md: the arithmetic).
    oprf_dagplafond: int = 2_000  # evaluations per UTC day; 0 switches the cap off (tests only)
    oprf_verhouding: float = 20.0  # evaluations per signal the region published ...
    oprf_verhouding_basis: int = 1_000  # ... on top of this, over the last oprf_verhouding_dagen days
    oprf_verhouding_dagen: int = 14  # 0 for oprf_verhouding switches the ratio check off (tests only)
    oprf_onboarding_max: int = 50_000  # the most extra evaluations a signed onboarding window may give
    oprf_onboarding_max_dagen: int = 31  # the longest onboarding window this holder accepts
    onboarding: Path | None = None  # this region's signed onboarding window (zvhctl federatie onboarding)
    vraag_per_minuut: float = 30.0  # hit/no-hit queries answered per asking region, sustained
    vraag_burst: float = 60.0
    # While the federation switches to a new key: the previous epoch's registry, served side by
    # side with ``register`` until every region has switched (docs/sleutelceremonie.md).
    vorig_register: Path | None = None
    # Messages accepted from one other region, per kind: a sustained rate per hour and a burst
    # (gedeeld/federatie/poort.py; docs/signalering.md explains the sizes). Over it: refused.
    signaal_per_uur: float = 1_000.0
    signaal_burst: float = 20_000.0
    treffer_per_uur: float = 500.0
    treffer_burst: float = 2_000.0
    overleg_per_uur: float = 300.0
    overleg_burst: float = 1_000.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 25
    afzender: str = "zvh-portaal@localhost"
    starttls: bool = False
    gebruiker: str = ""
    wachtwoord: str = ""


@dataclass(frozen=True)
class OidcConfig:
    """The region's own identity provider (OpenID Connect, authorization code flow)."""

    issuer: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class PortaalConfig:
    """The web portal (services/portaal), started by zvh-node when ``[portaal]`` is present."""

    listen: str
    gebruikers: Path  # the portal's accounts and roles (zvhctl portaal gebruiker ...)
    geheim: Path  # the portal's application token towards the node's gRPC (created once, 0600)
    publieke_url: str  # how people reach it (links in e-mail, OIDC redirect)
    cookie_secure: bool = True
    max_pogingen: int = 5  # failed logins before the account is locked for a while
    vergrendeling_minuten: int = 15
    sessie_minuten: int = 480
    smtp: SmtpConfig | None = None
    oidc: OidcConfig | None = None
    grpc_ca: Path | None = None  # with the node's [tls]: CA of its gRPC certificate (default tls.client_ca)
    # With the node's [tls] asking for client certificates: the portal's own application certificate
    # of this region (zvhctl certs --regio R --toepassing portaal); a node certificate is refused.
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class TrendsConfig:
    """The trend radar's privacy parameters (docs/trendradar.md says what they guarantee)."""

    # Pure epsilon-DP of one monthly release (all its cells together); a replay spends nothing.
    epsilon_per_publicatie: float = 1.0
    # Ceiling of the epsilon spent on releases about one calendar year; past it, releases stop.
    epsilon_per_jaar: float = 12.0
    # Cells whose *noisy* count is below this are withheld (post-processing: costs no privacy).
    onderdrukken_onder: int = 10


@dataclass(frozen=True)
class NodeConfig:
    regio: str
    data_dir: Path
    database_url: str
    tokens: Path
    verwerkingslog_sleutel: Path
    casusregister: CasusregisterConfig = field(default_factory=CasusregisterConfig)
    tls: TlsConfig | None = None
    activiteiten: Mapping[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    federatie: FederatieConfig | None = None
    nats: NatsConfig = field(default_factory=NatsConfig)
    # Where the node serves /metrics, /healthz, /readyz and /status over plain HTTP (empty: off).
    beheer_listen: str = ""
    # gRPC of signalering (VraagService) and samenwerking (MatchService) when each runs as its own
    # process (zvh-node --dienst); all in one process, they share casusregister.listen.
    signalering_listen: str = "127.0.0.1:50052"
    samenwerking_listen: str = "127.0.0.1:50053"
    # SQLite only: "normal" (WAL synchronous=NORMAL: durable against a process crash, not against a
    # power cut, see docs/benchmarks.md) or "full" (an fsync per commit).
    database_synchronous: str = "normal"
    portaal: PortaalConfig | None = None
    trends: TrendsConfig = field(default_factory=TrendsConfig)

    @property
    def nats_url(self) -> str:
        return self.nats.url

    @property
    def nats_gebruiker(self) -> str:
        return self.nats.gebruiker

    @property
    def nats_wachtwoord(self) -> str:
        return self.nats.wachtwoord

    @property
    def embedded_nats(self) -> bool:
        return not self.nats.url


def _overrides(doc: dict[str, Any], env: Mapping[str, str]) -> None:
    for key, value in env.items():
        if not key.startswith("ZVH_"):
            continue
        name = key[4:].lower()
        if "__" in name:
            section, setting = name.split("__", 1)
            doc.setdefault(section, {})[setting] = value
        elif name in {"regio", "data_dir", "log_level"}:
            doc[name] = value


# The settings laad() read, to refuse the ones it did not (a typo must not pass silently).
_GELEZEN: ContextVar[set[str] | None] = ContextVar("zvh_config_gelezen", default=None)
# Tables whose keys are free (ids of processing activities).
_VRIJ = ("verwerkingsactiviteiten",)


def _bladeren(doc: Mapping[str, Any], prefix: str = "") -> list[str]:
    uit = []
    for k, v in doc.items():
        pad = f"{prefix}{k}"
        if isinstance(v, Mapping) and pad not in _VRIJ:
            uit += _bladeren(v, pad + ".")
        elif pad not in _VRIJ:
            uit.append(pad)
    return uit


def _get(doc: Mapping[str, Any], path: str, kind: type, default: Any = None) -> Any:
    gelezen = _GELEZEN.get()
    if gelezen is not None:
        gelezen.add(path)
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if default is None:
                raise ConfigError(path, "is required")
            return default
        node = node[part]
    if kind is int and isinstance(node, str):
        try:
            return int(node)
        except ValueError:
            raise ConfigError(path, f"must be a whole number, got {node!r}") from None
    if kind is float and isinstance(node, (str, int)):
        try:
            return float(node)
        except ValueError:
            raise ConfigError(path, f"must be a number, got {node!r}") from None
    if not isinstance(node, kind):
        raise ConfigError(path, f"must be a {kind.__name__}")
    return node


def laad(path: Path | None, env: Mapping[str, str] | None = None) -> NodeConfig:
    """Read, override and validate; relative paths are relative to the config file.

    A setting the node does not know (in the file or as ``ZVH_…``) stops it with its name.
    """
    gelezen: set[str] = set()
    token = _GELEZEN.set(gelezen)
    try:
        cfg, doc = _laad(path, env)
    finally:
        _GELEZEN.reset(token)
    onbekend = sorted(set(_bladeren(doc)) - gelezen)
    if onbekend:
        raise ConfigError(
            onbekend[0],
            "unknown setting (a typo?); the settings are listed in docs/configuratie.md"
            + (f"; also unknown: {', '.join(onbekend[1:])}" if len(onbekend) > 1 else ""),
        )
    return cfg


def _laad(path: Path | None, env: Mapping[str, str] | None) -> tuple[NodeConfig, dict[str, Any]]:
    env = os.environ if env is None else env
    doc: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError("--config", f"file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None
        base = path.parent
    _overrides(doc, env)

    regio = _get(doc, "regio", str)
    if not _REGIO.match(regio):
        raise ConfigError("regio", "must be a short lower-case code such as 'wvv' or 'haaglanden'")

    def pad(p: str) -> Path:
        q = Path(p)
        return q if q.is_absolute() else (base / q).resolve()

    data_dir = pad(_get(doc, "data_dir", str, f"data/{regio}"))
    casusregister = CasusregisterConfig(
        listen=_get(doc, "casusregister.listen", str, CasusregisterConfig.listen),
        max_concurrent_rpcs=_get(
            doc, "casusregister.max_concurrent_rpcs", int, CasusregisterConfig.max_concurrent_rpcs
        ),
        bewaartermijn_dagen=_get(
            doc, "casusregister.bewaartermijn_dagen", int, CasusregisterConfig.bewaartermijn_dagen
        ),
        bewaartermijn_interval_uren=_get(
            doc,
            "casusregister.bewaartermijn_interval_uren",
            float,
            CasusregisterConfig.bewaartermijn_interval_uren,
        ),
        gebeurtenis_max_age_dagen=_get(
            doc, "casusregister.gebeurtenis_max_age_dagen", int, CasusregisterConfig.gebeurtenis_max_age_dagen
        ),
        max_achterstand=_get(doc, "casusregister.max_achterstand", int, CasusregisterConfig.max_achterstand),
    )
    if not _LISTEN.match(casusregister.listen):
        raise ConfigError("casusregister.listen", "must be HOST:PORT, e.g. 127.0.0.1:50051")
    if casusregister.bewaartermijn_dagen < 1:
        raise ConfigError("casusregister.bewaartermijn_dagen", "must be at least 1")
    if casusregister.max_concurrent_rpcs < 1:
        raise ConfigError("casusregister.max_concurrent_rpcs", "must be at least 1")
    if casusregister.max_achterstand < 0:
        raise ConfigError("casusregister.max_achterstand", "must be 0 (off) or more")

    tls = None
    if "tls" in doc:
        ca = _get(doc, "tls.client_ca", str, "")
        tls = TlsConfig(
            cert=pad(_get(doc, "tls.cert", str)),
            key=pad(_get(doc, "tls.key", str)),
            client_ca=pad(ca) if ca else None,
            clientcertificaten=_get(doc, "tls.clientcertificaten", str, "regio"),
        )
        if tls.clientcertificaten not in ("regio", "ca"):
            raise ConfigError("tls.clientcertificaten", 'must be "regio" (default) or "ca"')
        for name in ("cert", "key", "client_ca"):
            p = getattr(tls, name)
            if p is not None and not p.exists():
                raise ConfigError(f"tls.{name}", f"file {p} does not exist")
        controleer_certificaat(tls.cert, "tls.cert")  # expired, not yet valid, not PEM: one line
        controleer_sleutel(tls.cert, tls.key, "tls.key")
        if tls.client_ca is not None:
            controleer_ca(tls.client_ca, "tls.client_ca")

    federatie = None
    if "federatie" in doc:
        sleutel_hex = _get(doc, "federatie.beheerder_sleutel", str)
        try:
            beheerder = bytes.fromhex(sleutel_hex)
        except ValueError:
            beheerder = b""
        if len(beheerder) != 32:
            raise ConfigError(
                "federatie.beheerder_sleutel", "must be 64 hex characters (an Ed25519 public key)"
            )
        federatie = FederatieConfig(
            register=pad(_get(doc, "federatie.register", str)),
            beheerder_sleutel=beheerder,
            sleutels=pad(_get(doc, "federatie.sleutels", str)),
            oprf_per_seconde=_get(doc, "federatie.oprf_per_seconde", float, FederatieConfig.oprf_per_seconde),
            oprf_burst=_get(doc, "federatie.oprf_burst", float, FederatieConfig.oprf_burst),
            vraag_per_minuut=_get(doc, "federatie.vraag_per_minuut", float, FederatieConfig.vraag_per_minuut),
            vraag_burst=_get(doc, "federatie.vraag_burst", float, FederatieConfig.vraag_burst),
            vorig_register=pad(vorig) if (vorig := _get(doc, "federatie.vorig_register", str, "")) else None,
            **{
                naam: _get(doc, f"federatie.{naam}", type(standaard), standaard)
                for naam, standaard in (
                    ("oprf_dagplafond", FederatieConfig.oprf_dagplafond),
                    ("oprf_verhouding", FederatieConfig.oprf_verhouding),
                    ("oprf_verhouding_basis", FederatieConfig.oprf_verhouding_basis),
                    ("oprf_verhouding_dagen", FederatieConfig.oprf_verhouding_dagen),
                    ("oprf_onboarding_max", FederatieConfig.oprf_onboarding_max),
                    ("oprf_onboarding_max_dagen", FederatieConfig.oprf_onboarding_max_dagen),
                )
            },
            onboarding=pad(o) if (o := _get(doc, "federatie.onboarding", str, "")) else None,
            **{
                naam: _get(doc, f"federatie.{naam}", float, getattr(FederatieConfig, naam))
                for soort in ("signaal", "treffer", "overleg")
                for naam in (f"{soort}_per_uur", f"{soort}_burst")
            },
        )
        for naam in ("register", "sleutels", *(("vorig_register",) if federatie.vorig_register else ())):
            if not getattr(federatie, naam).exists():
                raise ConfigError(f"federatie.{naam}", f"{getattr(federatie, naam)} does not exist")
        if federatie.onboarding is not None and not federatie.onboarding.exists():
            raise ConfigError("federatie.onboarding", f"{federatie.onboarding} does not exist")
        for naam in ("oprf_dagplafond", "oprf_verhouding", "oprf_verhouding_basis", "oprf_onboarding_max"):
            if getattr(federatie, naam) < 0:
                raise ConfigError(f"federatie.{naam}", "must be 0 or more")
        for naam in ("oprf_verhouding_dagen", "oprf_onboarding_max_dagen"):
            if getattr(federatie, naam) < 1:
                raise ConfigError(f"federatie.{naam}", "must be at least 1 day")
        if federatie.oprf_per_seconde <= 0 or federatie.oprf_burst < 1:
            raise ConfigError("federatie.oprf_per_seconde", "rate must be positive and burst at least 1")
        if federatie.vraag_per_minuut <= 0 or federatie.vraag_burst < 1:
            raise ConfigError("federatie.vraag_per_minuut", "rate must be positive and burst at least 1")
        for soort in ("signaal", "treffer", "overleg"):
            if getattr(federatie, f"{soort}_per_uur") <= 0 or getattr(federatie, f"{soort}_burst") < 1:
                raise ConfigError(f"federatie.{soort}_per_uur", "rate must be positive and burst at least 1")

    nats = _nats(doc, pad)
    eigen_poort = {}
    for dienst in ("signalering", "samenwerking"):
        eigen_poort[dienst] = _get(doc, f"{dienst}.listen", str, getattr(NodeConfig, f"{dienst}_listen"))
        if not _LISTEN.match(eigen_poort[dienst]):
            raise ConfigError(f"{dienst}.listen", "must be HOST:PORT, e.g. 127.0.0.1:50052")
    beheer_listen = _get(doc, "beheer.listen", str, "")
    if beheer_listen and not _LISTEN.match(beheer_listen):
        raise ConfigError("beheer.listen", "must be HOST:PORT, e.g. 127.0.0.1:9464")

    trends = _trends(doc)
    tokens = pad(_get(doc, "auth.tokens", str, str(data_dir / "tokens.toml")))
    level = _get(doc, "log_level", str, "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("log_level", "must be DEBUG, INFO, WARNING or ERROR")
    synchronous = _get(doc, "database.synchronous", str, "normal").lower()
    if synchronous not in {"normal", "full"}:
        raise ConfigError("database.synchronous", "must be normal or full")
    cfg = NodeConfig(
        regio=regio,
        data_dir=data_dir,
        database_url=_get(doc, "database.url", str, f"sqlite:///{data_dir / 'node.db'}"),
        tokens=tokens,
        verwerkingslog_sleutel=pad(
            _get(doc, "verwerkingslog.sleutel", str, str(data_dir / "verwerkingslog.key"))
        ),
        casusregister=casusregister,
        tls=tls,
        activiteiten=dict(doc.get("verwerkingsactiviteiten", {})),
        log_level=level,
        federatie=federatie,
        nats=nats,
        beheer_listen=beheer_listen,
        signalering_listen=eigen_poort["signalering"],
        samenwerking_listen=eigen_poort["samenwerking"],
        database_synchronous=synchronous,
        portaal=_portaal(doc, pad, data_dir) if "portaal" in doc else None,
        trends=trends,
    )
    return cfg, doc


def _portaal(doc: Mapping[str, Any], pad: Callable[[str], Path], data_dir: Path) -> PortaalConfig:
    listen = _get(doc, "portaal.listen", str, "127.0.0.1:8080")
    if not _LISTEN.match(listen):
        raise ConfigError("portaal.listen", "must be HOST:PORT, e.g. 127.0.0.1:8080")
    publiek = _get(doc, "portaal.publieke_url", str, "").rstrip("/")
    if publiek and not re.match(r"^https?://[^\s/]+(/\S*)?$", publiek):
        raise ConfigError("portaal.publieke_url", "must be an http(s) URL, e.g. https://portaal.zvh.example")
    smtp = None
    if _get(doc, "portaal.smtp_host", str, ""):
        smtp = SmtpConfig(
            host=_get(doc, "portaal.smtp_host", str),
            port=_get(doc, "portaal.smtp_port", int, 25),
            afzender=_get(doc, "portaal.smtp_afzender", str, SmtpConfig.afzender),
            starttls=_bool(doc, "portaal.smtp_starttls", False),
            gebruiker=_get(doc, "portaal.smtp_gebruiker", str, ""),
            wachtwoord=_get(doc, "portaal.smtp_wachtwoord", str, ""),
        )
    oidc = None
    if _get(doc, "portaal.oidc_issuer", str, ""):
        issuer = _get(doc, "portaal.oidc_issuer", str).rstrip("/")
        if not re.match(r"^https?://", issuer):
            raise ConfigError("portaal.oidc_issuer", "must be the issuer URL of the identity provider")
        oidc = OidcConfig(
            issuer=issuer,
            client_id=_get(doc, "portaal.oidc_client_id", str),
            client_secret=_get(doc, "portaal.oidc_client_secret", str, ""),
        )
    cfg = PortaalConfig(
        listen=listen,
        gebruikers=pad(_get(doc, "portaal.gebruikers", str, str(data_dir / "portaal-gebruikers.toml"))),
        geheim=pad(_get(doc, "portaal.geheim", str, str(data_dir / "portaal.token"))),
        publieke_url=publiek,
        cookie_secure=_bool(doc, "portaal.cookie_secure", True),
        max_pogingen=_get(doc, "portaal.max_pogingen", int, 5),
        vergrendeling_minuten=_get(doc, "portaal.vergrendeling_minuten", int, 15),
        sessie_minuten=_get(doc, "portaal.sessie_minuten", int, 480),
        smtp=smtp,
        oidc=oidc,
        grpc_ca=pad(grpc_ca) if (grpc_ca := _get(doc, "portaal.grpc_ca", str, "")) else None,
        cert=pad(c) if (c := _get(doc, "portaal.cert", str, "")) else None,
        key=pad(k) if (k := _get(doc, "portaal.key", str, "")) else None,
    )
    if cfg.grpc_ca is not None and not cfg.grpc_ca.exists():
        raise ConfigError("portaal.grpc_ca", f"file {cfg.grpc_ca} does not exist")
    if cfg.max_pogingen < 1 or cfg.vergrendeling_minuten < 1 or cfg.sessie_minuten < 1:
        raise ConfigError("portaal.max_pogingen", "max_pogingen, vergrendeling_minuten, sessie_minuten >= 1")
    return cfg


def _bool(doc: Mapping[str, Any], path: str, default: bool) -> bool:
    waarde = _get(doc, path, object, default)
    if isinstance(waarde, bool):
        return waarde
    if isinstance(waarde, str) and waarde.lower() in {"true", "false", "1", "0"}:
        return waarde.lower() in {"true", "1"}
    raise ConfigError(path, "must be true or false")


def _trends(doc: Mapping[str, Any]) -> TrendsConfig:
    t = TrendsConfig(
        epsilon_per_publicatie=_get(
            doc, "trends.epsilon_per_publicatie", float, TrendsConfig.epsilon_per_publicatie
        ),
        epsilon_per_jaar=_get(doc, "trends.epsilon_per_jaar", float, TrendsConfig.epsilon_per_jaar),
        onderdrukken_onder=_get(doc, "trends.onderdrukken_onder", int, TrendsConfig.onderdrukken_onder),
    )
    if not 0 < t.epsilon_per_publicatie <= 10:
        raise ConfigError("trends.epsilon_per_publicatie", "must be above 0 and at most 10")
    if not t.epsilon_per_publicatie <= t.epsilon_per_jaar <= 100:
        raise ConfigError(
            "trends.epsilon_per_jaar", "must be at least trends.epsilon_per_publicatie and at most 100"
        )
    if not 0 <= t.onderdrukken_onder <= 1000:
        raise ConfigError("trends.onderdrukken_onder", "must be between 0 and 1000")
    return t


def _nats(doc: Mapping[str, Any], pad: Callable[[str], Path]) -> NatsConfig:
    url = _get(doc, "nats.url", str, "")
    wachtwoord = _get(doc, "nats.wachtwoord", str, "")
    bestand = _get(doc, "nats.wachtwoord_bestand", str, "")
    if bestand:
        # A mounted secret (Kubernetes, systemd LoadCredential) rather than an environment variable.
        if wachtwoord:
            raise ConfigError("nats.wachtwoord_bestand", "set either nats.wachtwoord or this, not both")
        try:
            wachtwoord = pad(bestand).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                "nats.wachtwoord_bestand", f"cannot read {pad(bestand)}: {exc.strerror}"
            ) from None
        if not wachtwoord:
            raise ConfigError("nats.wachtwoord_bestand", f"{pad(bestand)} is empty")
    gebruiker = _get(doc, "nats.gebruiker", str, "")
    if wachtwoord and not gebruiker:
        raise ConfigError("nats.gebruiker", "is required with a NATS password")
    hub_domein = _get(doc, "nats.hub_domein", str, "")
    if hub_domein and not re.match(r"^[A-Za-z0-9_-]{1,64}$", hub_domein):
        raise ConfigError("nats.hub_domein", "must be a JetStream domain name such as 'hub'")
    if hub_domein and not url:
        raise ConfigError("nats.hub_domein", "needs nats.url (the region's leaf node)")
    tls = None
    ca = _get(doc, "nats.ca", str, "")
    cert = _get(doc, "nats.cert", str, "")
    key = _get(doc, "nats.key", str, "")
    if (cert or key) and not ca:
        raise ConfigError("nats.ca", "is required with nats.cert and nats.key (the CA of the NATS server)")
    if bool(cert) != bool(key):
        raise ConfigError("nats.cert" if key else "nats.key", "nats.cert and nats.key go together")
    if ca:
        if not url:
            raise ConfigError("nats.ca", "needs nats.url (the embedded server has no TLS)")
        tls = NatsTlsConfig(ca=pad(ca), cert=pad(cert) if cert else None, key=pad(key) if key else None)
        controleer_tls(tls, "nats.ca", "nats.cert", "nats.key")
    return NatsConfig(url=url, gebruiker=gebruiker, wachtwoord=wachtwoord, hub_domein=hub_domein, tls=tls)
