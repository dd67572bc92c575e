"""The Helm chart, rendered (no cluster): it lints, every ci/ scenario renders, the RBAC is least privilege in
every scenario, bad values are refused naming the value, and its CRDs are the repository's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support.helm import CHART, helm, render

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))
FORBIDDEN_VERBS = {"escalate", "bind", "impersonate", "*"}


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


@pytest.mark.parametrize("values", [None, *SCENARIOS], ids=lambda p: p.name if p else "no-values")
def test_the_chart_lints_strictly(values):
    helm("lint", "--strict", str(CHART), *(["-f", str(values)] if values else []))


@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_every_role_is_least_privilege(values):
    objects = render(values)
    roles = by_kind(objects, "Role") + by_kind(objects, "ClusterRole")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            where = f"{role['kind']}/{role['metadata']['name']}: {rule}"
            assert "*" not in rule.get("apiGroups", []) + rule.get("resources", []), where
            assert not FORBIDDEN_VERBS & set(rule["verbs"]), where
            if "secrets" in rule["resources"]:  # webhook tokens, read by name: never listed nor watched
                assert rule["resources"] == ["secrets"] and rule["verbs"] == ["get"], where
    for binding in by_kind(objects, "ClusterRoleBinding") + by_kind(objects, "RoleBinding"):
        assert binding["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}
        assert binding["roleRef"]["name"] != "cluster-admin"


def test_namespaced_mode_grants_nothing_cluster_wide_and_a_role_in_each_namespace():
    objects = render(CHART / "ci" / "namespaced-values.yaml")
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    operator_roles = {r["metadata"]["namespace"] for r in by_kind(objects, "Role") if "leader" not in r["metadata"]["name"]}
    assert operator_roles == {"team-a", "team-b"}
    env = {e["name"]: e.get("value") for e in by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert json.loads(env["KASSET_NAMESPACES"]) == ["team-a", "team-b"]


@pytest.mark.parametrize("values", [None, *SCENARIOS], ids=lambda p: p.name if p else "no-values")
def test_leases_are_read_and_updated_by_name_and_created_in_the_release_namespace_only(values):
    """A deleted Lease must be created again, or no replica leads; create cannot be limited by resourceNames."""
    objects = render(*([values] if values else []))
    (lease,) = by_kind(objects, "Lease")
    lease_rules = [(r, rule) for r in by_kind(objects, "Role") + by_kind(objects, "ClusterRole")
                   for rule in r["rules"] if "leases" in rule["resources"]]
    assert [(r["kind"], r["metadata"]["namespace"], rule.get("resourceNames"), rule["verbs"])
            for r, rule in lease_rules] == [
        ("Role", lease["metadata"]["namespace"], [lease["metadata"]["name"]], ["get", "update"]),
        ("Role", lease["metadata"]["namespace"], None, ["create"])]


def test_the_operator_pod_is_restricted_and_probed():
    (deployment,) = by_kind(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"]["memory"] and deployment["spec"]["replicas"] == 2
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["KASSET_LEADER_ELECT"] == "true"


def test_monitoring_objects_are_off_by_default_and_render_when_switched_on():
    assert not {"ServiceMonitor", "PrometheusRule", "ConfigMap"} & {o["kind"] for o in render()}
    objects = render(CHART / "ci" / "monitoring-values.yaml")
    (rule,) = by_kind(objects, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load((CHART / "rules" / "kasset.rules.yaml").read_text())
    (dashboard,) = by_kind(objects, "ConfigMap")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["kasset.json"])["uid"] == "kasset-overview"
    assert by_kind(objects, "ServiceMonitor")[0]["spec"]["endpoints"][0]["port"] == "http"


def test_single_replica_has_no_disruption_budget():
    assert not by_kind(render(CHART / "ci" / "single-replica-values.yaml"), "PodDisruptionBudget")
    assert by_kind(render(), "PodDisruptionBudget")


@pytest.mark.parametrize("bad, named", [("replicas=two", "/replicas"), ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
                                        ("watchNamespaces[0]=Team_A", "/watchNamespaces/0")])
def test_the_values_schema_refuses_bad_values_naming_them(bad, named):
    out = helm("template", "kasset", str(CHART), "--set", bad, check=False)
    assert named in out, out


def test_the_charts_crds_are_the_repositorys():
    ours = {p.name: p.read_text() for p in (CHART / "crds").glob("*.yaml")}
    assert ours == {p.name: p.read_text() for p in (ROOT / "crds").glob("*.yaml")}, "run `make crds`"
