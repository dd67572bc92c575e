"""Chaos: hostile callers of the webhook port, against the real operator (kwok tier) and the real API server.

What users care about: an unauthenticated caller learns nothing (one 401 for every kind of "no"), cannot grow the
operator's memory, cannot stall it, and the Sensor's owner still sees why calls were refused (one aggregated
Event, not thousands).
"""

from __future__ import annotations

import base64
import socket
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client

from support.clusterinfo import wait_for
from support.kasset import Kasset, asset, kwok_container, sensor
from support.webhook import TOKEN, post, token_secret


def webhook_sensor(name: str, secret: str = "hook-token") -> dict:
    return sensor(name, webhook={"tokenSecretRef": {"name": secret}}, selection={"assets": ["loader"]},
                  params={"id": "{{ eventId }}"})


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def in_cache(kasset: Kasset, name: str) -> None:
    wait_for(lambda: kasset.get("sensors", name).get("status", {}).get("conditions"), timeout=30,
             what=f"Sensor {name} in the operator's cache")


def test_every_unauthenticated_call_gets_the_same_401_and_the_owner_one_aggregated_event(
        cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    client.CoreV1Api(cluster.api).create_namespaced_secret(namespace, {
        "metadata": {"name": "blank"}, "data": {"token": base64.b64encode(b"  \n").decode()}})
    kasset.create(asset("loader", container=kwok_container()), webhook_sensor("hook"),
                  webhook_sensor("blank-token", secret="blank"), webhook_sensor("no-secret", secret="absent"),
                  sensor("on-loader", assetMaterialized={"assets": ["loader"]}, selection={"assets": ["loader"]}))
    for name in ("hook", "blank-token", "no-secret", "on-loader"):
        in_cache(kasset, name)
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    calls = [(namespace, "hook", None), (namespace, "hook", "wrong"), (namespace, "hook", ""),
             (namespace, "nope", TOKEN), ("it-no-such-namespace", "hook", TOKEN), (namespace, "on-loader", TOKEN),
             (namespace, "no-secret", TOKEN), (namespace, "blank-token", ""), (namespace, "blank-token", " ")]
    answers = {post(port, ns, name, {}, token=token, event_id="e")[0:2].__repr__() for ns, name, token in calls}
    assert len(answers) == 1 and "401" in next(iter(answers)), answers
    for _ in range(200):
        assert post(port, namespace, "hook", {}, token="wrong", event_id="e")[0] == 401
    events = client.CoreV1Api(cluster.api)

    def refused() -> list:
        return [e for e in events.list_namespaced_event(namespace, field_selector="involvedObject.name=hook").items
                if e.reason == "EventRefused"]

    wait_for(lambda: sum(e.count or 1 for e in refused()) >= 25, timeout=30, what="the refusals counted")
    listed = refused()
    assert len(listed) <= 3, [(e.message, e.count) for e in listed]  # one per distinct reason, counted
    assert any(e.message == "HTTP 401: wrong token" and e.count > 1 for e in listed)
    assert kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "runs")["items"] == []
    assert post(port, namespace, "hook", {}, token=TOKEN, event_id="good")[0] == 201


def test_5000_calls_to_random_namespaces_grow_the_operator_by_less_than_10_mib_and_never_starve_healthz(
        kwok_operator):
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    probes = int(kwok_operator.env["KASSET_METRICS_PORT"])
    pid = kwok_operator.proc.pid

    def call(n: int) -> int:
        return post(port, f"it-{uuid.uuid4().hex[:20]}", f"s-{n}", {}, token="x", event_id=str(n))[0]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(call, range(500)))  # warm up: threads, buffers and the allocator's arenas exist
        before = rss_kib(pid)
        began = time.monotonic()
        futures = [pool.submit(call, n) for n in range(5000)]
        worst_probe = 0.0
        while not all(f.done() for f in futures):
            t = time.monotonic()
            assert urllib.request.urlopen(f"http://127.0.0.1:{probes}/healthz", timeout=5).status == 200
            worst_probe = max(worst_probe, time.monotonic() - t)
        codes = {f.result() for f in futures}
    grown = (rss_kib(pid) - before) / 1024
    print(f"\n5000 calls in {time.monotonic() - began:.1f}s; RSS grew {grown:.2f} MiB; slowest /healthz "
          f"{worst_probe * 1000:.0f} ms")
    assert codes == {401}
    assert grown < 10, f"RSS grew {grown:.1f} MiB"
    assert worst_probe < 1.0


def test_lying_lengths_and_slow_clients_do_not_stop_the_operator_answering(cluster, kwok_operator, namespace):
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container()), webhook_sensor("hook"))
    in_cache(kasset, "hook")
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(300)]
    try:
        for sock in slow:
            sock.sendall(f"POST /sensors/{namespace}/hook HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{".encode())
        for length in ("-1", "abc"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(f"POST /sensors/{namespace}/hook HTTP/1.1\r\nContent-Length: {length}\r\n\r\n"
                             .encode() + b"x" * 5000)
                assert sock.recv(100).startswith(b"HTTP/1.1 400")
        status, answer = post(port, namespace, "hook", {}, token=TOKEN, event_id="while-slow", timeout=5)
        assert status == 201, answer
    finally:
        for sock in slow:
            sock.close()


def test_a_replay_after_its_run_was_pruned_creates_nothing_and_a_squatted_name_does_not_swallow_an_event(
        cluster, kwok_operator, namespace):
    """Runs without a Job keep 3 successful ones here (the kwok operator's history limit): events 0-5 leave 3
    Runs, and replaying a pruned one must still be a duplicate. A Run squatting on the name an event's Run would get,
    with another runKey, must not make that event a 'duplicate'."""
    kasset = Kasset(cluster, namespace)
    token_secret(cluster, namespace)
    kasset.create(asset("loader", container=kwok_container()), webhook_sensor("hook"))
    in_cache(kasset, "hook")
    port = int(kwok_operator.env["KASSET_WEBHOOK_PORT"])
    first = [post(port, namespace, "hook", {}, token=TOKEN, event_id=f"m-{i}") for i in range(6)]
    assert {status for status, _ in first} == {201}

    def runs() -> list[dict]:
        return kasset.custom.list_namespaced_custom_object("kasset.dev", "v1alpha1", namespace, "runs")["items"]

    wait_for(lambda: len(runs()) == 3 and len(kasset.get("sensors", "hook")["status"].get("seenKeys", [])) == 6,
             timeout=90, what="3 Runs kept and 6 events remembered")
    kept = {r["metadata"]["name"] for r in runs()}
    event, pruned = next((f"m-{i}", answer["run"]) for i, (_, answer) in enumerate(first) if answer["run"] not in kept)
    status, again = post(port, namespace, "hook", {}, token=TOKEN, event_id=event)
    assert (status, again.get("duplicate"), again["run"]) == (200, True, pruned)
    assert len(runs()) == 3

    from kasset.planning.names import derived_run_name

    uid = kasset.get("sensors", "hook")["metadata"]["uid"]
    squatted = derived_run_name("hook", f"sensor/{uid}/webhook/squat")
    kasset.create({"apiVersion": "kasset.dev/v1alpha1", "kind": "Run", "metadata": {"name": squatted},
                   "spec": {"selection": {"assets": ["loader"]}, "runKey": "someone-else"}})
    status, answer = post(port, namespace, "hook", {}, token=TOKEN, event_id="squat")
    assert status == 201 and answer["run"] != squatted, answer
    assert kasset.get("runs", answer["run"])["spec"]["runKey"] == f"sensor/{uid}/webhook/squat"
