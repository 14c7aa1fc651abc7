"""Prometheus metrics shared by the services. Labels never carry personal data:
only RPC names, status codes, region codes and fixed reasons."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPC_TOTAAL = Counter("zvh_rpc_total", "gRPC calls handled", ["service", "method", "code"])
RPC_DUUR = Histogram(
    "zvh_rpc_duration_seconds",
    "gRPC call latency",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_ACHTERSTAND = Gauge(
    "zvh_outbox_backlog",
    "Outbox events not yet published, per service (gedeeld/nats/outbox.py)",
    ["regio", "dienst"],
)
CONSUMER_ACHTERSTAND = Gauge(
    "zvh_consumer_lag",
    "Messages in the stream not yet delivered to this durable consumer (num_pending at the last fetch)",
    ["stroom", "durable"],
)
FEDERATIE_ACHTERSTAND = Gauge(
    "zvh_federation_backlog",
    "The region's own unprocessed changes: outbox not yet published + case events not yet signalled",
    ["regio"],
)
OUTBOX_GEPUBLICEERD = Counter(
    "zvh_outbox_published_total", "Outbox events published", ["regio", "dienst", "duplicate"]
)

OPRF_EVALUATIES = Counter(
    "zvh_oprf_evaluations_total", "Blinded elements evaluated with this region's key share", ["aanvrager"]
)
OPRF_GEWEIGERD = Counter(
    "zvh_oprf_rejected_total",
    "OPRF requests and pings refused, by reason and requesting region ('onbekend' when not in the registry)",
    ["reden", "aanvrager"],
)
OPRF_PINGS = Counter(
    "zvh_oprf_pings_total",
    "Liveness pings answered by this region's share holder (no evaluation)",
    ["aanvrager"],
)
OPRF_HOUDER_FOUT = Counter(
    "zvh_oprf_holder_failures_total", "Share holders that did not answer validly", ["houder", "reden"]
)

SIGNALEN_GEPUBLICEERD = Counter("zvh_signals_published_total", "Signals published", ["soort"])
SIGNALEN_ONTVANGEN = Counter("zvh_signals_received_total", "Other regions' signals checked", ["soort"])
SIGNALEN_GEWEIGERD = Counter(
    "zvh_signals_rejected_total", "Federation messages rejected, by reason", ["reden"]
)
FEDERATIE_GEWEIGERD = Counter(
    "zvh_federation_rejected_total",
    "Messages from other regions refused, by kind (signaal/treffer/overleg/vraag), sending region "
    "(a registry code, or 'onbekend') and reason",
    ["soort", "afzender", "reden"],
)
DODE_BRIEVEN = Counter(
    "zvh_federation_dead_letters_total",
    "Messages a consumer gave up on after their last delivery (kept as dead letters)",
    ["stroom", "soort"],
)
TREFFERS = Counter("zvh_treffers_total", "Treffers sent and received", ["richting"])
MATCHES = Counter("zvh_matches_total", "Matches recorded", ["zekerheid"])
VRAGEN_GESTELD = Counter("zvh_queries_asked_total", "Hit/no-hit queries asked by this region's users")
VRAGEN_BEANTWOORD = Counter(
    "zvh_queries_answered_total", "Other regions' queries, by outcome or refusal reason", ["uitkomst"]
)
OVERLEG = Counter(
    "zvh_overleg_total", "Coordination messages between regions sent and received", ["richting"]
)
PSEUDONIMISERING_MISLUKT = Counter(
    "zvh_pseudonymisation_unavailable_total",
    "Case events whose pseudonymisation failed (too few key-share holders); retried later",
)
TRENDRADAR_GEWEIGERD = Counter(
    "zvh_trendradar_events_rejected_total",
    "Region-local events the trend radar refused (malformed; never redelivered), by source and reason",
    ["bron", "reden"],
)
# Served by ``zvhctl federatie hub-wacht`` next to the hub, not by the node.
HUB_OVERTREDINGEN = Counter(
    "zvh_hub_violations_total",
    "What the federation hub's nats-servers refused, by kind and region (from their logs)",
    ["soort", "regio"],
)
CLIENTCERTIFICAAT_GEWEIGERD = Counter(
    "zvh_grpc_client_certificate_refused_total",
    "gRPC calls refused: the client certificate is not one of this region's users or applications",
    ["reden"],
)
