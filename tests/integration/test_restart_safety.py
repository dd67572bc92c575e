"""An operator crash in the middle of a Run neither duplicates nor loses a step, nor records a materialization
twice: exactly one Job per step and one record per asset."""

from __future__ import annotations

import json
import threading

import pytest
from kubernetes import watch

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, job, kwok_container, run
from support.operator import OperatorProcess

LAYERS, WIDTH = 10, 5  # 50 steps; each layer depends on the whole previous one


def layered_steps() -> list[dict]:
    steps = []
    for layer in range(LAYERS):
        for i in range(WIDTH):
            deps = [f"s{layer - 1}-{j}" for j in range(WIDTH)] if layer else []
            steps.append({"name": f"s{layer}-{i}", "container": kwok_container(delay="200ms"), "dependsOn": deps})
    return steps


@pytest.fixture
def own_namespace(cluster, request):
    name = cluster.create_namespace(request.node.name, prefix="rs")
    yield name
    cluster.delete_namespace(name)


def test_killed_operator_restarts_and_finishes_with_exactly_one_job_per_step(cluster, crds, own_namespace, tmp_path):
    op = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=own_namespace, node_kind="kwok",
                         log_path=tmp_path / "operator.log")
    kasset = Kasset(cluster, own_namespace)
    op.start()
    try:
        kasset.create(job("wide", maxParallelSteps=WIDTH, steps=layered_steps()), run("wide-1", job_ref="wide"))
        wait_for(lambda: len(kasset.step_jobs("wide-1")) >= 3 * WIDTH, timeout=120,
                 what="three layers of step Jobs before the crash")
        op.kill()
        launched_before = len(kasset.step_jobs("wide-1"))
        assert launched_before < LAYERS * WIDTH, "the run finished before the crash; the test proves nothing"
        op.start()
        done = kasset.wait_run("wide-1", timeout=300)
    except BaseException:
        print(op.log_tail())
        raise
    finally:
        op.stop()
    jobs = kasset.step_jobs("wide-1")
    steps = sorted(j.metadata.labels["kasset.dev/step"] for j in jobs)
    assert steps == sorted(s["name"] for s in layered_steps())  # one Job per step, none lost, none twice
    assert all(j.status.succeeded == 1 for j in jobs)
    pods = cluster.core.list_namespaced_pod(own_namespace, label_selector="kasset.dev/run=wide-1").items
    assert len(pods) == LAYERS * WIDTH  # and no step ran twice
    assert [s["state"] for s in done["status"]["steps"]] == ["Succeeded"] * (LAYERS * WIDTH)
    assert op.starts == 2


CHAIN = ("extract", "clean", "enrich", "report")


def test_killed_at_every_step_boundary_of_an_asset_run_records_each_materialization_exactly_once(
        cluster, crds, own_namespace, tmp_path):
    """SIGKILL the operator the moment each step Job completes (the window in which it records the asset's
    materialization, then launches the next step); every Asset still gets exactly one record, with lineage."""
    op = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace_pattern=own_namespace, node_kind="kwok",
                         log_path=tmp_path / "operator.log")
    kasset = Kasset(cluster, own_namespace)
    records: dict[str, set[str]] = {name: set() for name in CHAIN}
    stop = threading.Event()
    watcher = threading.Thread(target=_collect_records, args=(kasset, records, stop), daemon=True)
    watcher.start()
    op.start()
    try:
        kasset.create(*(asset(name, deps=(CHAIN[i - 1],) if i else (),
                              container=kwok_container(delay="500ms", result={"dataVersion": f"{name}-v1"}))
                        for i, name in enumerate(CHAIN)),
                      run("chain-1", assets=list(CHAIN)))
        for step in CHAIN:
            wait_for(lambda: _step_job_complete(kasset, "chain-1", step), timeout=60, what=f"step {step} done")
            op.kill()
            op.start()
        done = kasset.wait_run("chain-1", timeout=120)
        wait_for(lambda: all(records[n] for n in CHAIN), timeout=30, what="every record seen by the watch")
    except BaseException:
        print(op.log_tail())
        raise
    finally:
        stop.set()
        op.stop()
    assert op.starts == len(CHAIN) + 1
    assert op.tracebacks() == []
    assert sorted(j.metadata.labels["kasset.dev/step"] for j in kasset.step_jobs("chain-1")) == sorted(CHAIN)
    assert [s["state"] for s in done["status"]["steps"]] == ["Succeeded"] * len(CHAIN)
    for i, name in enumerate(CHAIN):
        assert len(records[name]) == 1, f"{name} was recorded more than once: {records[name]}"
        last = kasset.get("assets", name)["status"]["lastMaterialization"]
        assert (last["run"], last["dataVersion"]) == ("chain-1", f"{name}-v1")
        expected = [{"asset": CHAIN[i - 1], "run": "chain-1", "dataVersion": f"{CHAIN[i - 1]}-v1"}] if i else []
        assert last["lineage"] == expected


def _step_job_complete(kasset: Kasset, run_name: str, step: str) -> bool:
    return any(j.metadata.labels.get("kasset.dev/step") == step and
               any(c.type == "Complete" and c.status == "True" for c in (j.status.conditions or []))
               for j in kasset.step_jobs(run_name))


def _collect_records(kasset: Kasset, records: dict[str, set[str]], stop: threading.Event) -> None:
    """Every distinct lastMaterialization each Asset ever shows (a second recording of the same
    materialization would show a second value: another time at least)."""
    w = watch.Watch()
    while not stop.is_set():
        for event in w.stream(kasset.custom.list_namespaced_custom_object, "kasset.dev", "v1alpha1",
                              kasset.namespace, "assets", timeout_seconds=5):
            obj = event["object"]
            last = (obj.get("status") or {}).get("lastMaterialization")
            if last is not None and obj["metadata"]["name"] in records:
                records[obj["metadata"]["name"]].add(json.dumps(last, sort_keys=True))
            if stop.is_set():
                w.stop()
