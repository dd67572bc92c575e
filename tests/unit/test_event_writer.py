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
