"""Events are written off the caller's thread: emit never waits for the API server, they are written in order,
a full queue drops (and counts) instead of blocking, and close() writes what is queued."""

import threading
import time

from kasset.k8s.events import EventWriter


def event(n: int) -> dict:
    return {"reason": f"R{n}", "involvedObject": {"kind": "Run", "name": f"run-{n}"}}


def test_emit_returns_while_the_write_is_slow_and_events_are_written_in_order():
    written, release = [], threading.Event()

    def write(e: dict) -> None:
        release.wait(10)  # the API server takes its time
        written.append(e["reason"])

    writer = EventWriter(write)
    writer.start()
    began = time.monotonic()
    for n in range(50):
        writer.emit(event(n))
    assert time.monotonic() - began < 1.0 and written == []
    release.set()
    writer.close(timeout=10)
    assert written == [f"R{n}" for n in range(50)] and writer.dropped == 0


def test_a_full_queue_drops_and_counts_instead_of_blocking():
    writing, release, written = threading.Event(), threading.Event(), []

    def write(e: dict) -> None:
        writing.set()
        release.wait(10)
        written.append(e["reason"])

    writer = EventWriter(write, capacity=3)
    writer.start()
    writer.emit(event(0))
    assert writing.wait(5), "the writer thread never took the first Event"
    for n in range(1, 8):
        writer.emit(event(n))
    assert writer.dropped == 4  # 3 wait in the queue, 4 are dropped
    release.set()
    writer.close(timeout=10)
    assert written == ["R0", "R1", "R2", "R3"]


def test_close_without_start_returns():
    EventWriter(lambda e: None).close(timeout=0.1)


def sensor_event(message: str = "HTTP 401: wrong token", reason: str = "EventRefused") -> dict:
    return {"reason": reason, "type": "Warning", "message": message, "lastTimestamp": "t",
            "involvedObject": {"kind": "Sensor", "namespace": "team-a", "name": "hook", "uid": "u1"}}


class FakeApi:
    """Stands in for the Events API's create and patch, recording the calls (the writer's logic is under test)."""

    def __init__(self):
        self.created, self.patched = [], []

    def create(self, e: dict) -> dict:
        self.created.append(e)
        return {"metadata": {"name": f"ev-{len(self.created)}", "namespace": "team-a"}}

    def patch(self, namespace: str, name: str, patch: dict) -> dict:
        self.patched.append((name, patch["count"]))
        return {"metadata": {"name": name}}


def test_repeated_identical_events_are_one_event_whose_count_is_patched_and_a_flood_is_filtered():
    api, now = FakeApi(), [0.0]
    writer = EventWriter(api.create, patch=api.patch, clock=lambda: now[0])
    writer.start()
    for _ in range(5000):  # a caller hammering a Sensor with wrong tokens
        writer.emit(sensor_event())
    writer.close(timeout=10)
    assert len(api.created) == 1
    assert api.patched == [("ev-1", n) for n in range(2, 26)]  # the spam filter's burst of 25, counted on one Event
    assert writer.filtered == 5000 - 25 and writer.dropped == 0


def test_the_spam_budget_is_per_object_and_reason_and_refills_over_time():
    api, now = FakeApi(), [0.0]
    writer = EventWriter(api.create, patch=api.patch, clock=lambda: now[0])
    for n in range(30):
        writer.emit(sensor_event(message=f"m{n}"))
    writer.emit(sensor_event(reason="CreatedRun"))  # another reason has a budget of its own
    assert writer.filtered == 5
    now[0] = 300.0  # one more token after 5 minutes
    writer.emit(sensor_event(message="late"))
    writer.emit(sensor_event(message="later"))
    assert writer.filtered == 6


def test_an_event_different_in_message_is_created_and_a_repeat_of_a_vanished_event_is_created_again():
    api = FakeApi()
    api.patch = lambda namespace, name, patch: None  # the Event was deleted (TTL)
    writer = EventWriter(api.create, patch=api.patch)
    writer.start()
    for message in ("a", "b", "a"):
        writer.emit(sensor_event(message=message))
    writer.close(timeout=10)
    assert [e["message"] for e in api.created] == ["a", "b", "a"]


def test_the_writer_thread_survives_a_write_that_raises():
    written = []

    def write(e: dict) -> None:
        if e["reason"] == "R1":
            raise RuntimeError("boom")
        written.append(e["reason"])

    writer = EventWriter(write)
    writer.start()
    for n in range(3):
        writer.emit(event(n))
    writer.close(timeout=10)
    assert written == ["R0", "R2"]
