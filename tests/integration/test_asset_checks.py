"""Asset checks on a real API server (kwok nodes): a check step runs after its asset with the asset's
contract, a failing blocking check skips the downstream step with its message and fails the Run, and the
Asset's status.checks, ChecksPassed condition and `kubectl get` columns show it."""

from __future__ import annotations

import pytest

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, run

pytestmark = pytest.mark.usefixtures("kwok_operator")


@pytest.fixture
def kasset(cluster, namespace) -> Kasset:
    return Kasset(cluster, namespace)


def with_check(name: str, *, passed: bool, message: str, blocking: bool = True) -> dict:
    verdict = kwok_container(result={"passed": passed, "message": message, "metadata": {"rows": 7}})
    return asset(name, checks=[{"name": "rows", "blocking": blocking, "container": verdict}])


def test_a_failing_blocking_check_skips_the_downstream_step_with_its_message(kasset, cluster):
    kasset.create(with_check("raw", passed=False, message="7 rows without id"), asset("clean", deps=("raw",)),
                  run("checked", assets=["raw", "clean"]))
    done = kasset.wait_run("checked", expect="False", timeout=60)
    steps = {s["name"]: s for s in done["status"]["steps"]}
    assert [s["name"] for s in done["status"]["steps"]] == ["raw", "raw-check-rows", "clean"]
    assert (steps["raw"]["state"], steps["raw-check-rows"]["state"], steps["clean"]["state"]) == (
        "Succeeded", "Failed", "Skipped")
    assert steps["clean"]["message"] == "not started: blocking check rows of asset raw failed: 7 rows without id"
    outcome = next(c for c in done["status"]["conditions"] if c["type"] == "Succeeded")
    assert outcome["reason"] == "CheckFailed" and "7 rows without id" in outcome["message"]
    (check_job,) = [j for j in kasset.step_jobs("checked") if j.metadata.labels.get("kasset.dev/check") == "rows"]
    env = {e.name: e.value for e in check_job.spec.template.spec.containers[0].env}
    assert env["KASSET_ASSET"] == "raw" and env["KASSET_OUTPUT_URI"].endswith("/raw/unpartitioned")

    def recorded():
        status = kasset.get("assets", "raw").get("status") or {}
        checks = {c["name"]: c for c in status.get("checks") or []}
        return status if checks.get("rows", {}).get("run") == "checked" else None

    status = wait_for(recorded, timeout=30, what="the check's result on the Asset")
    (result,) = status["checks"]
    assert (result["outcome"], result["message"], result["metadata"]) == ("Failed", "7 rows without id", {"rows": 7})
    condition = next(c for c in status["conditions"] if c["type"] == "ChecksPassed")
    assert (condition["status"], condition["reason"]) == ("False", "CheckFailed")
    table = cluster.kubectl("-n", kasset.namespace, "get", "assets.kasset.dev", "raw").stdout
    assert "CHECKS" in table and "check rows failed: 7 rows without id" in table


def test_a_passing_check_and_a_failing_non_blocking_one_let_the_run_succeed(kasset):
    kasset.create(with_check("good", passed=True, message="all rows have an id"), asset("after", deps=("good",)),
                  with_check("noisy", passed=False, message="2 late rows", blocking=False),
                  run("both", assets=["good", "after", "noisy"]))
    done = kasset.wait_run("both", timeout=60)
    steps = {s["name"]: s for s in done["status"]["steps"]}
    assert steps["after"]["state"] == "Succeeded" and steps["noisy-check-rows"]["state"] == "Succeeded"

    def condition(name):
        status = kasset.get("assets", name).get("status") or {}
        found = next((c for c in status.get("conditions") or [] if c["type"] == "ChecksPassed"), None)
        return found if found and found["reason"] != "NotRun" else None

    assert wait_for(lambda: condition("good"), timeout=30, what="ChecksPassed of good")["status"] == "True"
    assert wait_for(lambda: condition("noisy"), timeout=30, what="ChecksPassed of noisy")["status"] == "False"
