"""How fast the operator moves a Run: Run created → first step Job, step Job Complete → next step Job.

A 20-step chain on kwok nodes; times are taken where the test's own watch sees the events (Kubernetes
timestamps have one-second resolution). Also prints the size of the finished Runs' status in bytes.
"""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import watch

from support.kasset import Kasset, job, kwok_container, run
from support.stats import summary

pytestmark = pytest.mark.usefixtures("kwok_operator")
CHAIN = 20


def chain_steps(n: int) -> list[dict]:
    return [{"name": f"s{i:02d}", "container": kwok_container(delay="0s"),
             "dependsOn": [f"s{i - 1:02d}"] if i else []} for i in range(n)]


def test_chain_of_20_steps_launch_latency(cluster, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(job("chain", steps=chain_steps(CHAIN)))
    added: dict[str, float] = {}
    completed: dict[str, float] = {}
    w = watch.Watch()
    t0 = time.monotonic()
    kasset.create(run("chain-1", job_ref="chain"))
    for event in w.stream(cluster.batch.list_namespaced_job, namespace, timeout_seconds=300):
        j = event["object"]
        step = j.metadata.labels.get("kasset.dev/step")
        now = time.monotonic()
        added.setdefault(step, now)
        if any(c.type == "Complete" and c.status == "True" for c in (j.status.conditions or [])):
            completed.setdefault(step, now)
        if len(completed) == CHAIN:
            w.stop()
    done = kasset.wait_run("chain-1", timeout=60)
    names = [f"s{i:02d}" for i in range(CHAIN)]
    summary("step Job Complete -> next step Job created (20-step chain)",
            [added[b] - completed[a] for a, b in zip(names, names[1:])])
    summary("20-step chain Run created -> last step Complete", [completed[names[-1]] - t0])
    print(f"BENCH status size of a finished 20-step Run: {len(json.dumps(done['status']))} bytes")


def test_run_created_to_first_step_job_created(cluster, namespace):
    kasset = Kasset(cluster, namespace)
    kasset.create(job("one", steps=chain_steps(1)))
    samples = []
    for i in range(CHAIN):
        name = f"one-{i}"
        w = watch.Watch()
        t0 = time.monotonic()
        kasset.create(run(name, job_ref="one"))
        for event in w.stream(cluster.batch.list_namespaced_job, namespace, timeout_seconds=60,
                              label_selector=f"kasset.dev/run={name}"):
            samples.append(time.monotonic() - t0)
            w.stop()
        assert len(samples) == i + 1, f"no step Job for Run {name} within 60s"
    summary("Run created -> first step Job created", samples)


def test_status_size_of_a_wide_run(cluster, namespace):
    width = 200
    kasset = Kasset(cluster, namespace)
    steps = [{"name": f"step-{i:03d}", "container": kwok_container(delay="0s")} for i in range(width)]
    kasset.create(job("wide", maxParallelSteps=50, steps=steps), run("wide-1", job_ref="wide"))
    t0 = time.monotonic()
    done = kasset.wait_run("wide-1", timeout=600)
    print(f"BENCH {width}-step Run (maxParallelSteps 50) finished in {time.monotonic() - t0:.1f}s; "
          f"status {len(json.dumps(done['status']))} bytes, whole object {len(json.dumps(done))} bytes")
