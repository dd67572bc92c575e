"""The leader elector against an in-memory Lease store (resourceVersion-checked like the API server's) that can
hang or fail: a leader stops leading by its renew deadline whatever the calls do, and an unexpected exception
neither ends the election nor keeps a leader that cannot renew. Timings are short and waits bounded."""

from __future__ import annotations

import copy
import logging
import threading
import time

import pytest

from kasset.k8s import Conflict, NotFound
from kasset.runtime.leader import LeaderElector, Timing

FAST = Timing(lease_seconds=0.6, renew_deadline_seconds=0.4, retry_seconds=0.05)


class MemoryLeases:
    """One namespace's Leases. `hang` makes every call block until it is cleared; `fail` makes calls raise it."""

    def __init__(self):
        self.stored: dict[str, dict] = {}
        self.hang = threading.Event()
        self.released = threading.Event()
        self.fail: Exception | None = None

    def _enter(self) -> None:
        if self.hang.is_set():
            self.released.wait()  # longer than any deadline in these tests: only the elector's own guard helps
        if self.fail is not None:
            raise self.fail

    def get(self, namespace: str, name: str) -> dict:
        self._enter()
        if name not in self.stored:
            raise NotFound(f"get lease {name}", status=404)
        return copy.deepcopy(self.stored[name])

    def create(self, namespace: str, body: dict) -> dict:
        self._enter()
        name = body["metadata"]["name"]
        if name in self.stored:
            raise Conflict(f"create lease {name}", status=409)
        return self._store(body)

    def replace(self, namespace: str, body: dict) -> dict:
        self._enter()
        current = self.stored[body["metadata"]["name"]]
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict("update lease", status=409)
        return self._store(body)

    def _store(self, body: dict) -> dict:
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = str(int(body["metadata"].get("resourceVersion") or 0) + 1)
        self.stored[body["metadata"]["name"]] = body
        return copy.deepcopy(body)


class Replica:
    def __init__(self, leases: MemoryLeases, identity: str = "a", timing: Timing = FAST, clock=time.monotonic):
        self.started, self.stopped = threading.Event(), threading.Event()
        self.stopped_at: float | None = None
        self.elector = LeaderElector(leases, namespace="ns", name="lease", identity=identity,
                                     on_started=self.started.set, on_stopped=self._on_stopped, timing=timing,
                                     clock=clock)

    def _on_stopped(self) -> None:
        self.stopped_at = time.monotonic()
        self.stopped.set()


@pytest.fixture
def leases():
    store = MemoryLeases()
    yield store
    store.released.set()


def test_a_leader_whose_renewal_hangs_stops_leading_by_its_renew_deadline(leases):
    replica = Replica(leases)
    replica.elector.start()
    assert replica.started.wait(2)
    leases.hang.set()
    assert replica.stopped.wait(3), "still leading while its renewal hangs"
    renewed_at = replica.elector.renewed_at
    assert not replica.elector.leading.is_set()
    assert replica.stopped_at - renewed_at <= FAST.renew_deadline_seconds + 0.05


def test_an_unexpected_exception_is_logged_once_with_its_traceback_and_the_election_goes_on(leases, caplog):
    leases.fail = RuntimeError("a bug")
    replica = Replica(leases)
    with caplog.at_level(logging.WARNING, logger="kasset.leader"):
        replica.elector.start()
        deadline = time.monotonic() + 2
        while sum(r.name == "kasset.leader" for r in caplog.records) < 3 and time.monotonic() < deadline:
            replica.started.wait(0.01)
        leases.fail = None
        assert replica.started.wait(2), "the election ended at the exception"
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "a bug" in str(tracebacks[0].exc_info[1])
    replica.elector.stop(release=False)


def test_a_leader_whose_renewals_raise_unexpectedly_still_gives_up_at_its_deadline(leases):
    replica = Replica(leases)
    replica.elector.start()
    assert replica.started.wait(2)
    leases.fail = RuntimeError("a bug")
    assert replica.stopped.wait(3), "still leading although no renewal succeeds"
    assert replica.stopped_at - replica.elector.renewed_at <= FAST.renew_deadline_seconds + 0.05


class SlowClock:
    """An injected clock that each Lease call moves forward by `per_call` seconds."""

    def __init__(self, leases: MemoryLeases, per_call: float):
        self.now, self.per_call = 100.0, per_call
        for verb in ("get", "create", "replace"):
            setattr(leases, verb, self._slowed(getattr(leases, verb)))

    def _slowed(self, call):
        def slowed(*args):
            self.now += self.per_call
            return call(*args)
        return slowed

    def __call__(self) -> float:
        return self.now


def test_a_renewal_counts_from_when_its_attempt_started_not_when_it_returned(leases):
    clock = SlowClock(leases, per_call=1.5)
    replica = Replica(leases, timing=Timing(), clock=clock)
    replica.elector.try_once()  # started at 100; get (NotFound), create, replace: returned at 104.5
    assert replica.elector.leading.is_set() and replica.elector.renewed_at == 100
    clock.now = 106.9
    assert not replica.elector.enforce_deadline()
    clock.now = 107
    assert replica.elector.enforce_deadline() and replica.stopped.is_set()


def test_a_renewal_that_returns_after_the_deadline_does_not_revive_the_leadership(leases):
    clock = SlowClock(leases, per_call=1)
    replica = Replica(leases, timing=Timing(), clock=clock)
    replica.elector.try_once()  # 100 -> 103: leading until 107
    clock.per_call = 4
    replica.elector.try_once()  # started at 103, get + replace returned at 111 with success
    assert replica.stopped.is_set() and not replica.elector.leading.is_set()
    clock.per_call = 0
    replica.elector.try_once()
    assert not replica.elector.leading.is_set(), "led again after it stopped leading"


def test_an_acquisition_that_took_longer_than_the_deadline_does_not_start_leading(leases):
    clock = SlowClock(leases, per_call=3)
    replica = Replica(leases, timing=Timing(), clock=clock)
    replica.elector.try_once()  # get, create, replace: 9 s
    assert not replica.elector.leading.is_set() and not replica.started.is_set()
    clock.per_call = 0
    replica.elector.try_once()
    assert replica.elector.leading.is_set()
