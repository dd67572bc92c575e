"""The CRDs in crds/ are generated from the models, structural, documented, and do not drift."""

from pathlib import Path

import pytest
import yaml

from kasset.api import Asset, Job, Run, to_manifest
from kasset.api.crd import build_crd, render_crd_files
from kasset.api.crddocs import render_reference
from kasset.api.kinds import KINDS
from kasset.api.schema import PRESERVE, SchemaError, build_structural_schema, find_structural_errors, walk_schema

ROOT = Path(__file__).resolve().parents[2]
CRDS = {info.name: build_crd(info) for info in KINDS}


def schema_of(kind):
    return CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_crd_files_match_the_models():
    for name, text in render_crd_files().items():
        path = ROOT / "crds" / name
        assert path.exists(), f"{path} is missing: run python -m kasset.api.crd --out crds/"
        assert path.read_text() == text, f"{path} drifted from the models: run python -m kasset.api.crd --out crds/"


def test_crd_reference_matches_the_models():
    path = ROOT / "docs" / "crd-reference.md"
    assert path.read_text() == render_reference(), "run python -m kasset.api.crd --docs docs/crd-reference.md"


@pytest.mark.parametrize("kind", ["Asset", "Job", "Run"])
def test_schema_is_structural(kind):
    schema = schema_of(kind)
    assert find_structural_errors(schema) == []
    for path, node in walk_schema(schema):
        assert not {"$ref", "anyOf", "oneOf", "allOf", "not", "title", "$defs"} & node.keys(), path
        assert "type" in node or node.get(PRESERVE) or node.get("x-kubernetes-int-or-string"), path
        assert not isinstance(node.get("exclusiveMinimum"), (int, float)) or isinstance(node["exclusiveMinimum"], bool), path


@pytest.mark.parametrize("kind", ["Asset", "Job", "Run"])
def test_every_field_has_a_description(kind):
    for path, node in walk_schema(schema_of(kind)):
        if path.endswith("[]") or path.endswith("{}") or path == ".metadata":
            continue  # list items and map values are described by their field; metadata must stay bare
        assert node.get("description"), f"{kind}{path} has no description"


def test_crds_have_names_category_status_subresource_and_printer_columns():
    for info in KINDS:
        crd = CRDS[info.name]
        names = crd["spec"]["names"]
        assert crd["metadata"]["name"] == f"{info.plural}.kasset.dev"
        assert names["categories"] == ["kasset"] and names["shortNames"]
        version = crd["spec"]["versions"][0]
        assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
        assert version["additionalPrinterColumns"][-1]["name"] == "Age"
    assert {c["name"] for c in CRDS["Run"]["spec"]["versions"][0]["additionalPrinterColumns"]} >= {"State", "Progress", "Age"}
    assert {c["name"] for c in CRDS["Asset"]["spec"]["versions"][0]["additionalPrinterColumns"]} >= {"Materialized", "Stale"}
    assert CRDS["Job"]["spec"]["names"]["shortNames"] == ["kjob"]


def test_cross_field_rules_are_declared_with_messages_naming_the_field():
    rules = {
        kind: [rule for _, node in walk_schema(schema_of(kind)) for rule in node.get("x-kubernetes-validations", [])]
        for kind in CRDS
    }
    messages = {kind: " | ".join(rule["message"] for rule in found) for kind, found in rules.items()}
    assert "spec.jobRef" in messages["Run"] and "spec.selection" in messages["Run"]
    assert "spec.selection or spec.steps" in messages["Job"] and "dependsOn" in messages["Job"]
    assert "spec.deps must not name the asset itself" in messages["Asset"]
    assert "KASSET_" in messages["Asset"]
    for found in rules.values():
        assert all(rule["rule"] and rule["message"] for rule in found)


def test_lists_of_named_objects_are_list_maps_with_required_keys():
    steps = schema_of("Job")["properties"]["spec"]["properties"]["steps"]
    assert steps["x-kubernetes-list-type"] == "map" and steps["x-kubernetes-list-map-keys"] == ["name"]
    conditions = schema_of("Run")["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"] and "type" in conditions["items"]["required"]


def test_status_lists_are_bounded():
    status = schema_of("Run")["properties"]["status"]["properties"]
    assert status["steps"]["maxItems"] == 500
    assert schema_of("Asset")["properties"]["status"]["properties"]["staleReasons"]["maxItems"] == 10


def test_generated_yaml_parses_back_to_the_crd():
    for info in KINDS:
        text = render_crd_files()[info.file_name]
        assert yaml.safe_load(text) == CRDS[info.name]


def test_a_recursive_model_is_refused():
    from kasset.api.base import KassetModel

    class Tree(KassetModel):
        children: list["Tree"] = []

    with pytest.raises(SchemaError, match="cannot recurse"):
        build_structural_schema(Tree)


def unknown_fields(schema, value, path=""):
    """Fields the API server would prune from `value` (it keeps only what the schema declares)."""
    if schema.get(PRESERVE) or not isinstance(value, (dict, list)):
        return []
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in unknown_fields(schema.get("items", {}), item, f"{path}[{i}]")]
    if isinstance(schema.get("additionalProperties"), dict):
        return [f for k, v in value.items() for f in unknown_fields(schema["additionalProperties"], v, f"{path}.{k}")]
    props = schema.get("properties", {})
    found = [f"{path}.{k}" for k in value if k not in props]
    return found + [f for k, v in value.items() if k in props for f in unknown_fields(props[k], v, f"{path}.{k}")]


def test_manifests_dumped_from_the_models_survive_pruning():
    asset = Asset.model_validate(
        {
            "metadata": {"name": "clean"},
            "spec": {
                "container": {"image": "i", "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                              "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}},
                "deps": [{"asset": "raw", "partitionMapping": {"type": "Unpartitioned"}}],
                "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
            },
            "status": {"lastMaterialization": {"run": "r", "time": "2026-01-01T00:00:00Z", "dataVersion": "v",
                                               "metadata": {"preview": {"nested": [1, 2]}}, "lineage": [{"asset": "raw", "run": "r0"}]}},
        }
    )
    job = Job.model_validate(
        {"spec": {"steps": [{"name": "a", "container": {"image": "i"}, "fanOut": {"fromStep": "b"}, "dependsOn": ["b"]},
                            {"name": "b", "container": {"image": "i"}}], "paramsSchema": {"type": "object"}}}
    )
    run = Run.model_validate(
        {"spec": {"jobRef": {"name": "j"}, "params": {"x": [1, {"y": None}]}, "trigger": {"type": "Backfill"}},
         "status": {"steps": [{"name": "a", "state": "Succeeded", "items": ["x", 1, {"k": "v"}]}]}}
    )
    for obj in (asset, job, run):
        manifest = to_manifest(obj)
        manifest.pop("metadata")
        assert unknown_fields(schema_of(obj.kind), manifest) == []


def rules_at(kind, path):
    """The CEL rules declared on the schema node at `path` (e.g. `.spec`) of `kind`."""
    return {path_: node.get("x-kubernetes-validations", []) for path_, node in walk_schema(schema_of(kind))}[path]


def test_run_spec_is_immutable_by_a_transition_rule_in_the_crd_file():
    crd = yaml.safe_load((ROOT / "crds" / "run.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    rule = {"rule": "self == oldSelf", "message": "spec is immutable: create a new Run"}
    assert rule in spec["x-kubernetes-validations"]


def test_asset_automation_oncron_is_rejected_by_the_api_server_naming_spec_automation():
    (rule,) = [r for r in rules_at("Asset", ".spec") if "OnCron" in r["rule"]]
    assert rule["rule"] == "!has(self.automation) || self.automation != 'OnCron'"
    assert rule["message"].startswith("spec.automation: OnCron is removed")
    assert rule["fieldPath"] == ".automation"
    spec = schema_of("Asset")["properties"]["spec"]["properties"]
    assert "schedule" not in spec and "timeZone" not in spec


def test_asset_automation_oncron_is_rejected_by_the_model_with_the_same_words():
    from pydantic import ValidationError

    from kasset.api import AssetSpec

    with pytest.raises(ValidationError, match="spec.automation: OnCron is removed"):
        AssetSpec.model_validate({"container": {"image": "i"}, "automation": "OnCron"})
    assert AssetSpec.model_validate({"container": {"image": "i"}, "automation": "Eager"}).automation == "Eager"


@pytest.mark.parametrize("kind", ["Asset", "Job"])
def test_storage_templates_are_checked_by_a_cel_rule_on_the_field(kind):
    from kasset.api.storage import STORAGE_TEMPLATE_PATTERN

    (rule,) = rules_at(kind, ".spec.storage")
    assert rule["rule"] == "self.matches('" + STORAGE_TEMPLATE_PATTERN.replace("\\", "\\\\") + "')"
    assert "{namespace}" in rule["message"] and "format specs" in rule["message"]


def test_asset_freshness_takes_a_bounded_maximum_lag_in_seconds():
    from pydantic import ValidationError

    from kasset.api import AssetSpec

    fresh = schema_of("Asset")["properties"]["spec"]["properties"]["freshness"]
    assert fresh["required"] == ["maximumLagSeconds"]
    assert fresh["properties"]["maximumLagSeconds"]["minimum"] == 1
    spec = AssetSpec.model_validate({"container": {"image": "i"}, "freshness": {"maximumLagSeconds": 3600}})
    assert spec.freshness.maximum_lag_seconds == 3600
    with pytest.raises(ValidationError, match="maximumLagSeconds"):
        AssetSpec.model_validate({"container": {"image": "i"}, "freshness": {"maximumLagSeconds": 0}})
