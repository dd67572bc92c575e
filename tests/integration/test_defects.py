"""The defects found in review of the first core, each shown on a real API server (kwok nodes)."""

from __future__ import annotations

import pytest

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, job, kwok_container, run

pytestmark = pytest.mark.usefixtures("kwok_operator")


@pytest.fixture
def kasset(cluster, namespace) -> Kasset:
    return Kasset(cluster, namespace)


def test_a_step_job_the_api_server_rejects_fails_the_step_with_the_servers_message(kasset):
    bad = kwok_container() | {"resources": {"requests": {"cpu": "a-lot"}}}  # not a quantity: 422 on the Job
    kasset.create(asset("greedy", container=bad), asset("after", deps=("greedy",)),
                  run("rejected", assets=["greedy", "after"]))
    done = kasset.wait_run("rejected", expect="False", timeout=60)
    steps = {s["name"]: s for s in done["status"]["steps"]}
    assert steps["greedy"]["state"] == "Failed"
    assert "quantities must match" in steps["greedy"]["message"] or "a-lot" in steps["greedy"]["message"]
    assert steps["after"]["state"] == "Skipped"
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "StepFailed" and "greedy" in outcome["message"]
    assert kasset.step_jobs("rejected") == []


def test_params_that_break_the_jobs_schema_refuse_the_run_before_any_step_naming_the_param(kasset):
    schema = {"type": "object", "required": ["date"], "properties": {"date": {"type": "string"},
                                                                      "limit": {"type": "integer"}}}
    kasset.create(asset("daily"), job("by-date", selection={"assets": ["daily"]}, paramsSchema=schema),
                  run("no-date", job_ref="by-date", params={"limit": 3}),
                  run("bad-limit", job_ref="by-date", params={"date": "2021-04-01", "limit": "many"}),
                  run("good", job_ref="by-date", params={"date": "2021-04-01"}))
    for name, param in (("no-date", "date"), ("bad-limit", "limit")):
        done = kasset.wait_run(name, expect="False", timeout=60)
        outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
        assert outcome["reason"] == "InvalidParams" and param in outcome["message"], outcome
        assert kasset.step_jobs(name) == []
    kasset.wait_run("good")


def test_a_job_whose_params_schema_is_not_json_schema_is_not_ready(kasset):
    kasset.create(asset("daily"), job("broken", selection={"assets": ["daily"]},
                                      paramsSchema={"type": "object", "properties": {"n": {"type": "integr"}}}))
    ready = wait_for(lambda: kasset.condition("jobs", "broken", "Ready"), timeout=30, what="Ready condition")
    assert ready["status"] == "False" and ready["reason"] == "InvalidSpec"
    assert "spec.paramsSchema" in ready["message"]


def test_bumping_an_upstreams_code_version_makes_everything_downstream_stale_naming_it(kasset):
    kasset.create(asset("raw", codeVersion="1"), asset("clean", deps=("raw",)), asset("report", deps=("clean",)),
                  run("all", assets=["raw", "clean", "report"]))
    kasset.wait_run("all")

    def stale(name: str) -> dict | None:
        condition = kasset.condition("assets", name, "Stale")
        return condition if condition and condition["status"] == "True" else None

    wait_for(lambda: not any(stale(n) for n in ("raw", "clean", "report")), timeout=30, what="a fresh chain")
    kasset.custom.patch_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "assets", "raw",
                                                 {"spec": {"codeVersion": "2"}})
    assert wait_for(lambda: stale("raw"), timeout=30, what="raw Stale")["reason"] == "CodeVersionChanged"
    clean = wait_for(lambda: stale("clean"), timeout=30, what="clean Stale")
    assert clean["reason"] == "UpstreamStale" and "upstream raw" in clean["message"]
    report = wait_for(lambda: stale("report"), timeout=30, what="report Stale")
    assert "upstream clean" in report["message"]


def test_runs_without_a_job_are_pruned_beyond_the_operators_history_limit(kasset, kwok_operator):
    limit = int(kwok_operator.env["KASSET_SUCCESSFUL_RUNS_HISTORY_LIMIT"])
    kasset.create(asset("adhoc"))
    names = [f"adhoc-{i}" for i in range(limit + 2)]
    for name in names:
        kasset.create(run(name, assets=["adhoc"]))
        kasset.wait_run(name)

    def kept() -> list[str]:
        return sorted(r["metadata"]["name"] for r in kasset.custom.list_namespaced_custom_object(
            "kasset.dev", "v1alpha1", kasset.namespace, "runs")["items"])

    wait_for(lambda: kept() == sorted(names[-limit:]), timeout=30, what=f"only the newest {limit} Runs kept")


def test_an_older_run_finishing_late_does_not_overwrite_a_newer_materialization(kasset):
    kasset.create(asset("slow-src", container=kwok_container(result={"dataVersion": "old"}, delay="4s")),
                  run("older", assets=["slow-src"]))
    wait_for(lambda: kasset.step_jobs("older"), timeout=30, what="the older Run's step Job")
    fast = asset("slow-src", container=kwok_container(result={"dataVersion": "new"}))
    current = kasset.get("assets", "slow-src")
    kasset.custom.replace_namespaced_custom_object("kasset.dev", "v1alpha1", kasset.namespace, "assets", "slow-src",
                                                   fast | {"metadata": current["metadata"]})
    kasset.create(run("newer", assets=["slow-src"]))
    kasset.wait_run("newer")
    kasset.wait_run("older")
    last = kasset.get("assets", "slow-src")["status"]["lastMaterialization"]
    assert (last["run"], last["dataVersion"]) == ("newer", "new")
