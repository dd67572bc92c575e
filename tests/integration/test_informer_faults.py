"""The informer against the real API server: one object whose handling raises never stalls the watch or makes
it relist, and a broken stream resumes from the last resourceVersion instead of listing everything again."""

from __future__ import annotations

import threading

from kasset.k8s.client import GROUP, VERSION
from kasset.k8s.informer import Informer, Resource
from support.clusterinfo import wait_for
from support.kasset import Kasset, asset


class Recorder:
    def __init__(self):
        self.names: list[str] = []
        self.seen: list[tuple[str, str, str]] = []  # (event type, name, resourceVersion)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def on_event(self, kind: str, obj: dict) -> None:
        name = obj["metadata"]["name"]
        with self.lock:
            self.names.append(name)
            self.seen.append((kind, name, obj["metadata"].get("resourceVersion", "")))
        if name.startswith("poison"):
            raise RuntimeError(f"cannot handle {name}")

    def on_request(self, verb: str, code) -> None:
        with self.lock:
            self.requests.append(verb)


def start_informer(cluster, namespace: str, recorder: Recorder) -> Informer:
    informer = Informer(cluster.api, Resource(GROUP, VERSION, "assets"), recorder.on_event, namespace=namespace,
                        on_request=recorder.on_request)
    informer.start()
    assert informer.synced.wait(30)
    return informer


def test_an_object_whose_handling_raises_is_skipped_and_the_watch_goes_on_without_a_relist(
        cluster, crds, namespace, caplog):
    kasset, recorder = Kasset(cluster, namespace), Recorder()
    informer = start_informer(cluster, namespace, recorder)
    try:
        kasset.create(asset("poison-1"), asset("after"))
        wait_for(lambda: "after" in recorder.names, timeout=30, what="the object after the poisoned one")
        assert recorder.requests.count("list") == 1
        assert any("Handling ADDED assets" in r.message for r in caplog.records)
    finally:
        informer.stop()
        informer.join(5)


def test_a_broken_watch_stream_resumes_from_the_last_resource_version_without_listing_again(
        cluster, crds, namespace):
    kasset, recorder = Kasset(cluster, namespace), Recorder()
    kasset.create(asset("before"))
    informer = start_informer(cluster, namespace, recorder)
    try:
        wait_for(lambda: recorder.requests.count("watch") >= 1 and informer._response is not None, timeout=30,
                 what="the watch open")
        informer._response.connection.sock.shutdown(2)  # the stream breaks under the informer (not a stop)
        kasset.create(asset("during"))
        wait_for(lambda: "during" in recorder.names, timeout=30, what="the object created after the break")
        wait_for(lambda: recorder.requests.count("watch") >= 2, timeout=30, what="a second watch")
        assert recorder.requests.count("list") == 1, recorder.requests
        # not delivered again by a relist (the tier's operator may write the Assets' status: new versions)
        assert [s for s in recorder.seen if s[1] == "before" and s[0] == "ADDED"] == recorder.seen[:1]
        assert len(set(recorder.seen)) == len(recorder.seen), recorder.seen
    finally:
        informer.stop()
        informer.join(5)
