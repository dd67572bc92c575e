"""Every PromQL expression the chart ships: the dashboard's panel targets and the alert rules' expressions, so
tests can check them offline (promtool) and evaluate them against a real Prometheus."""

from __future__ import annotations

import json

import yaml

from support.helm import CHART

DASHBOARD = CHART / "dashboards" / "kasset.json"
RULES = CHART / "rules" / "kasset.rules.yaml"


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title and refId, expr) of every dashboard target."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(f"{p['title']} [{t['refId']}]", t["expr"]) for p in panels for t in p["targets"]]


def alert_queries() -> list[tuple[str, str]]:
    """(alert name, expr) of every alert rule."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(r["alert"], r["expr"]) for g in groups for r in g["rules"] if "alert" in r]
