"""Bad manifests are rejected at apply time by the CRD schema and CEL rules, with the field named."""

from __future__ import annotations

import pytest
from kubernetes import client

from support.kasset import Kasset, asset, job, kwok_container, run


@pytest.fixture
def kasset(cluster, namespace, crds) -> Kasset:
    return Kasset(cluster, namespace)


@pytest.mark.parametrize(("obj", "expected"), [
    (run("both", job_ref="j") | {"spec": {"jobRef": {"name": "j"}, "selection": {"assets": ["a"]}}},
     "exactly one of spec.jobRef and spec.selection must be set"),
    (asset("selfish", deps=("selfish",)), "spec.deps must not name the asset itself"),
    (job("empty"), "spec.selection or spec.steps must be set"),
    (asset("sneaky", container=kwok_container() | {"env": [{"name": "KASSET_RUN", "value": "x"}]}),
     "container.env must not set KASSET_* variables"),
    (asset("typo", retry={"limit": "three"}), "spec.retry.limit"),
    (asset("huge", retry={"limit": 1000}), "spec.retry.limit"),
    (asset("cron", automation="OnCron"), "spec.automation: OnCron is removed"),
    (asset("padded", storage="file:///data/{asset:>999999999}"), "spec.storage"),
    (job("indexing", steps=[{"name": "s", "container": kwok_container()}], storage="s3://b/{run[0]}"),
     "spec.storage"),
], ids=["run-jobref-and-selection", "asset-self-dependency", "job-without-selection-or-steps",
        "reserved-env", "wrong-type", "out-of-range", "on-cron-before-schedules", "storage-format-spec",
        "storage-index-access"])
def test_invalid_object_is_rejected_with_a_message_naming_the_field(kasset, obj, expected):
    with pytest.raises(client.ApiException) as err:
        kasset.create(obj)
    assert err.value.status == 422
    assert expected in err.value.body


def test_valid_objects_are_accepted(kasset):
    kasset.create(asset("a"), job("j", selection={"assets": ["a"]}), run("r", job_ref="j"))
    assert kasset.get("runs", "r")["spec"]["jobRef"] == {"name": "j"}


def test_a_runs_spec_cannot_be_edited_but_its_metadata_can(kasset):
    kasset.create(asset("a"), run("r", assets=["a"]))
    with pytest.raises(client.ApiException) as err:
        kasset.custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "runs", "r",
                                                     {"spec": {"params": {"date": "2021-04-01"}}})
    assert err.value.status == 422
    assert "spec is immutable" in err.value.body
    kasset.custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "runs", "r",
                                                 {"metadata": {"labels": {"team": "data"}}})
    assert kasset.get("runs", "r")["metadata"]["labels"] == {"team": "data"}
