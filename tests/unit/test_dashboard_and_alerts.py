"""The Grafana dashboard and the alert rules, checked offline: the dashboard against a JSON Schema of the parts of
Grafana's model it uses, every expression valid PromQL (promtool), every metric it names one the operator
exports, and the alerts' own unit tests (`promtool test rules`)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from prometheus_client import generate_latest

from kasset.metrics import Metrics
from support.promqueries import DASHBOARD, RULES, alert_queries, dashboard_queries

SCHEMA = DASHBOARD.with_name("dashboard.schema.json")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)


def exported_metric_names() -> set[str]:
    metrics = Metrics()
    metrics.watch_cache(assets=list, queued=list)
    names = {line.split()[2] for line in generate_latest(metrics.registry).decode().splitlines()
             if line.startswith("# TYPE")}
    per_asset = {"kasset_asset_last_materialization_timestamp_seconds", "kasset_asset_stale",
                 "kasset_asset_failed_checks", "kasset_asset_freshness_maximum_lag_seconds"}
    return names | per_asset | {f"{n}_total" for n in names}


def test_the_dashboard_matches_its_schema_and_a_broken_one_does_not():
    dashboard, schema = json.loads(DASHBOARD.read_text()), json.loads(SCHEMA.read_text())
    jsonschema.validate(dashboard, schema)
    broken = copy.deepcopy(dashboard)
    del broken["panels"][0]["targets"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError, match="'expr' is a required property"):
        jsonschema.validate(broken, schema)


def test_panels_have_unique_ids_and_do_not_overlap():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for p in panels:
        g = p["gridPos"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert g["x"] + g["w"] <= 24 and not cells & mine, p["title"]
        cells |= mine


def test_the_alert_rules_check_and_pass_their_unit_tests():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(RULES.with_name("kasset.rules.test.yaml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"kasset:dashboard_{i}", "expr": expr} for i, (_, expr) in enumerate(dashboard_queries())]}]}
    path = tmp_path / "dashboard.rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_metric_named_by_a_query_is_one_the_operator_exports():
    known = exported_metric_names()
    for name, expr in dashboard_queries() + alert_queries():
        for metric in re.findall(r"\bkasset_[a-z_]+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", metric)
            assert metric in known or base in known, f"{name}: {metric}"
