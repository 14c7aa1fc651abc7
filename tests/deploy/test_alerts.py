"""deploy/prometheus/alerts.yaml names only metrics and labels the node exports (gedeeld/beheer/metrics.py),
and its annotations only labels its expressions keep. No promtool here: the rules are parsed."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from gedeeld.beheer import metrics
from services.sleuteldeel.service import _CODES as OPRF_REDENEN

REGELS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yaml"
# Added by Prometheus to every scraped series.
DOEL_LABELS = {"instance", "job"}


def geexporteerd() -> dict[str, set[str]]:
    """Every series name the node exposes, with its labels."""
    uit: dict[str, set[str]] = {"up": set()}
    for m in vars(metrics).values():
        if not isinstance(m, MetricWrapperBase):
            continue
        naam, labels = m._name, set(m._labelnames)
        soort = m._type
        if soort == "counter":
            uit[f"{naam}_total"] = labels
        elif soort == "histogram":
            for staart in ("_bucket", "_sum", "_count"):
                uit[naam + staart] = labels | ({"le"} if staart == "_bucket" else set())
        else:
            uit[naam] = labels
    return uit


def fouten(doc: dict[str, Any]) -> list[str]:
    series = geexporteerd()
    p: list[str] = []
    for groep in doc["groups"]:
        for regel in groep["rules"]:
            naam, expr = regel.get("alert", "?"), regel.get("expr", "")
            if regel.get("labels", {}).get("severity") not in {"warning", "critical"}:
                p.append(f"{naam}: severity must be warning or critical")
            if not regel.get("annotations", {}).get("summary"):
                p.append(f"{naam}: no summary")
            genoemd = set(re.findall(r"\b(zvh_[a-z_]+|up)\b", expr))
            onbekend = genoemd - set(series)
            if onbekend:
                p.append(f"{naam}: unknown metric {sorted(onbekend)}")
            mogelijk = DOEL_LABELS.union(*(series.get(s, set()) for s in genoemd))
            gebruikt = {
                label.strip()
                for groepje in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr)
                for label in groepje.split(",")
                if label.strip()
            }
            gebruikt |= set(re.findall(r"[{,]\s*([a-z_]+)\s*=~?", expr))
            if gebruikt - mogelijk:
                p.append(f"{naam}: labels {sorted(gebruikt - mogelijk)} are not on {sorted(genoemd)}")
            # Without aggregation a series keeps all its labels; with it, only those named in by().
            behouden = gebruikt if re.search(r"\bby\s*\(", expr) else mogelijk
            for label in re.findall(r"\$labels\.([a-z_]+)", str(regel.get("annotations", {}))):
                if label not in behouden:
                    p.append(f"{naam}: annotation uses {label}, which the expression does not keep")
            for waarde in re.findall(r'reden="([a-z_]+)"', expr):
                if waarde not in OPRF_REDENEN:
                    p.append(f"{naam}: reden {waarde!r} is not an OPRF refusal reason")
            for codes in re.findall(r'code=~"([A-Z_|]+)"', expr):
                for code in codes.split("|"):
                    if code not in grpc.StatusCode.__members__:
                        p.append(f"{naam}: {code} is not a gRPC status code")
    return p


def test_every_alert_uses_exported_metrics_and_labels() -> None:
    doc = yaml.safe_load(REGELS.read_text())
    assert fouten(doc) == []
    namen = [r["alert"] for g in doc["groups"] for r in g["rules"]]
    assert len(namen) == len(set(namen))
    assert {"ZvhOutboxBacklog", "ZvhPseudonymisationUnavailable", "ZvhOprfDisproportion"} <= set(namen)


@pytest.mark.parametrize(
    ("wijzig", "verwacht"),
    [
        (lambda r: r.update(expr="zvh_outbox_achterstand > 0"), "unknown metric"),
        (lambda r: r.update(expr="max by (casus_id) (zvh_outbox_backlog) > 0"), "labels ['casus_id']"),
        (lambda r: r["annotations"].update(summary="{{ $labels.stroom }}"), "annotation uses stroom"),
        (lambda r: r["labels"].update(severity="page"), "severity"),
        (lambda r: r.update(expr='increase(zvh_oprf_rejected_total{reden="te_veel"}[5m]) > 0'), "reden"),
    ],
)
def test_the_checker_catches_a_broken_rule(wijzig: Any, verwacht: str) -> None:
    doc = copy.deepcopy(yaml.safe_load(REGELS.read_text()))
    regel = next(r for r in doc["groups"][0]["rules"] if r["alert"] == "ZvhOutboxBacklog")
    wijzig(regel)
    assert any(verwacht in f for f in fouten(doc)), fouten(doc)
