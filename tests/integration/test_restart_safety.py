"""An operator crash in the middle of a Run neither duplicates nor loses a step: exactly one Job per step."""

from __future__ import annotations

import pytest

from support.clusterinfo import wait_for
from support.kasset import Kasset, job, kwok_container, run
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
