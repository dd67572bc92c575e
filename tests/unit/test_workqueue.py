"""The work queue keeps client-go's promises: dedup, one worker per key, backoff, non-multiplying timers."""

import threading

from kasset.runtime.workqueue import WorkQueue


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def drain(queue: WorkQueue) -> list:
    keys = []
    while len(queue):
        key, _ = queue.get()
        keys.append(key)
        queue.done(key)
    return keys


def test_a_key_added_twice_before_processing_is_processed_once():
    queue = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert drain(queue) == ["a", "b"]


def test_a_key_added_while_processing_is_processed_again_after_done_and_never_concurrently():
    queue = WorkQueue()
    queue.add("a")
    key, _ = queue.get()
    queue.add("a")
    assert len(queue) == 0, "the key must not be handed to a second worker while the first processes it"
    assert queue.is_pending("a")
    queue.done(key)
    assert drain(queue) == ["a"]


def test_delayed_requeues_replace_each_other_and_the_earliest_wins():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    for delay in (5.0, 3.0, 9.0, 3.0):
        queue.add_after("a", delay)
    clock.now = 3.0
    assert drain_ready(queue) == ["a"]
    clock.now = 100.0
    assert drain_ready(queue) == [], "later timers were replaced, not multiplied"


def drain_ready(queue: WorkQueue) -> list:
    with queue._cond:  # what get() does first, under the queue's lock; released keys are then queued
        queue._release_due_timers()
    return drain(queue)


def test_failures_back_off_exponentially_up_to_the_cap_and_forget_resets():
    queue = WorkQueue(base_delay=0.1, max_delay=1.0, clock=FakeClock())
    delays = [queue.add_rate_limited("a") for _ in range(6)]
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    queue.forget("a")
    assert queue.add_rate_limited("a") == 0.1


def test_shutdown_wakes_blocked_workers():
    queue = WorkQueue()
    results = []
    worker = threading.Thread(target=lambda: results.append(queue.get()))
    worker.start()
    queue.shutdown()
    worker.join(5)
    assert not worker.is_alive() and results == [None]
