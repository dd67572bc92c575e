"""The watch-fed cache: newer versions only, indexes kept in step, step Jobs filtered to what matters."""

import sys
import threading

from kasset.runtime.cache import NamespaceCache


def asset(name: str, version: str, *deps: str) -> dict:
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Asset",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": version},
            "spec": {"container": {"image": "x"}, "deps": [{"asset": d} for d in deps]}}


def step_job(name: str, *, conditions=(), failed: int = 0, active: int = 0) -> dict:
    return {"metadata": {"name": name}, "spec": {},
            "status": {"active": active, "failed": failed,
                       "conditions": [{"type": c, "status": "True"} for c in conditions]}}


def test_the_echo_of_a_held_version_and_older_events_are_not_changes():
    ns = NamespaceCache("ns", threading.RLock())
    assert ns.put_asset(asset("a", "10"))
    assert not ns.put_asset(asset("a", "10")), "the echo of the operator's own write"
    assert not ns.put_asset(asset("a", "9")), "an event older than what the cache holds"
    assert ns.put_asset(asset("a", "11"))


def test_dependants_follow_the_deps_of_the_newest_version_and_deletion():
    ns = NamespaceCache("ns", threading.RLock())
    ns.put_asset(asset("b", "1", "a"))
    ns.put_asset(asset("c", "2", "a"))
    assert ns.dependants("a") == ("b", "c")
    ns.put_asset(asset("c", "3", "z"))
    assert ns.dependants("a") == ("b",) and ns.dependants("z") == ("c",)
    ns.delete_asset("b")
    assert ns.dependants("a") == ()


def test_an_invalid_object_is_kept_aside_with_its_error():
    ns = NamespaceCache("ns", threading.RLock())
    bad = asset("bad", "1")
    bad["spec"]["container"] = {}
    ns.put_asset(bad)
    assert ns.get("bad") is None and "image" in str(ns.assets.invalid["bad"].error)


def test_a_step_job_changes_its_run_only_when_it_appears_finishes_or_retries():
    ns = NamespaceCache("ns", threading.RLock())
    assert ns.put_step_job("r", step_job("j"))
    assert not ns.put_step_job("r", step_job("j", active=1)), "a pod starting changes nothing the Run reads"
    assert ns.put_step_job("r", step_job("j", failed=1, active=1)), "a retry is shown"
    assert ns.put_step_job("r", step_job("j", conditions=("Complete",), failed=1))
    assert [j["metadata"]["name"] for j in ns.step_jobs_of("r")] == ["j"]


def test_the_created_step_job_is_held_and_neither_its_echo_nor_an_older_event_replaces_it():
    """The Run reconciler stores the Job it created; the watch's ADDED echo (same version) is no change, and a
    late event older than a finished version held must not bring back an unfinished Job."""
    ns = NamespaceCache("ns", threading.RLock())

    def versioned(version: str, **kwargs) -> dict:
        job = step_job("j", **kwargs)
        job["metadata"]["resourceVersion"] = version
        return job

    assert ns.put_step_job("r", versioned("5"))
    assert not ns.put_step_job("r", versioned("5")), "the watch's echo of the operator's own create"
    assert ns.put_step_job("r", versioned("7", conditions=("Complete",)))
    assert not ns.put_step_job("r", versioned("6", active=1)), "an older event"
    (held,) = ns.step_jobs_of("r")
    assert held["metadata"]["resourceVersion"] == "7"


def backfill_run(name: str, version: str, backfill: str, *, started: bool = False) -> dict:
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": version,
                         "labels": {"kasset.dev/backfill": backfill}},
            "spec": {"jobRef": {"name": "daily"}, "partition": "2021-05-01", "runKey": "backfill/u/0/0",
                     "trigger": {"type": "Backfill", "source": f"Backfill/{backfill}"}},
            "status": {"startTime": "2026-01-01T00:00:00Z"} if started else {}}


def a_backfill(name: str, version: str = "1") -> dict:
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Backfill",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": version},
            "spec": {"jobRef": {"name": "daily"}, "partitions": {"keys": ["2021-05-01"]}}}


def test_runs_of_a_backfill_are_indexed_by_its_label_and_exempt_from_pruning_while_it_exists():
    ns = NamespaceCache("ns", threading.RLock())
    ns.put_run(backfill_run("may-0", "1", "may"))
    ns.put_run(backfill_run("june-0", "2", "june"))
    assert [r.metadata.name for r in ns.runs_of_backfill("may")] == ["may-0"]
    may_0 = ns.runs.valid["may-0"]
    assert not ns.held_by_backfill(may_0)
    ns.put_backfill(a_backfill("may"))
    assert ns.held_by_backfill(may_0)
    ns.delete_backfill("may")
    assert not ns.held_by_backfill(may_0)
    ns.delete_run("may-0")
    assert ns.runs_of_backfill("may") == []


def test_a_gone_backfill_with_unstarted_runs_is_found_for_the_safety_net():
    ns = NamespaceCache("ns", threading.RLock())
    ns.put_run(backfill_run("may-0", "1", "may", started=True))
    assert ns.orphaned_backfills() == []  # started Runs finish
    ns.put_run(backfill_run("may-1", "2", "may"))
    assert ns.orphaned_backfills() == ["may"]
    ns.put_backfill(a_backfill("may"))
    assert ns.orphaned_backfills() == [] and ns.unfinished_backfills() == ["may"]


def test_record_readers_are_the_eager_partitioned_dependants_only():
    """A change of an asset's partition records concerns the Eager partitioned assets planning from them (a
    month whose last day to finish was not the last to start), not its other dependants."""
    ns = NamespaceCache("ns", threading.RLock())
    daily = {"dimensions": [{"name": "day", "timeWindow": {"cadence": "Daily", "start": "2021-01-01"}}]}
    monthly = {"dimensions": [{"name": "month", "timeWindow": {"cadence": "Monthly", "start": "2021-01-01"}}]}
    ns.put_asset(asset("events", "1") | {"spec": {"container": {"image": "x"}, "partitions": daily}})
    for name, spec in [("report", {"automation": "Eager", "partitions": monthly}),
                       ("manual-report", {"partitions": monthly}),
                       ("eager-unpartitioned", {"automation": "Eager"})]:
        body = asset(name, "2", "events")
        body["spec"] |= spec
        ns.put_asset(body)
    assert ns.dependants("events") == ("eager-unpartitioned", "manual-report", "report")
    assert ns.record_readers("events") == ("report",)


def test_a_reader_without_the_lock_never_misses_an_object_while_a_newer_version_replaces_it():
    """The webhook reads back the Run it created while the watch may store a newer version of it."""
    ns = NamespaceCache("ns", threading.RLock())
    ns.put_asset(asset("a", "1"))
    misses, done = [], threading.Event()

    def read() -> None:
        while not done.is_set():
            if ns.assets.valid.get("a") is None:
                misses.append(1)

    reader = threading.Thread(target=read)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can: the window is microseconds
    try:
        reader.start()
        for version in range(2, 3000):
            ns.put_asset(asset("a", str(version)))
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert not misses, f"the reader found no Asset 'a' {len(misses)} times"


def test_a_model_that_raises_something_other_than_a_validation_error_keeps_the_object_aside_naming_it(caplog):
    """A parser bug must cost one object a condition, never its informer (which would relist for ever)."""
    from pydantic import field_validator

    from kasset.api.base import KassetModel
    from kasset.runtime.cache import Kind

    class Fragile(KassetModel):
        spec: dict

        @field_validator("spec")
        @classmethod
        def explode(cls, value):
            raise IsADirectoryError(21, "Is a directory", "/usr/share/zoneinfo/Europe")

    kind = Kind(Fragile)
    kept = kind.put({"metadata": {"name": "s", "resourceVersion": "1"}, "spec": {}})
    assert kept is not None and "s" in kind.invalid and "s" not in kind.valid
    assert "IsADirectoryError" in str(kind.invalid["s"].error)
    assert any("Parsing a Fragile raised IsADirectoryError" in r.message for r in caplog.records)


def queued_run(name: str, second: int, *, done: bool = False) -> dict:
    status = {"conditions": [{"type": "Succeeded", "status": "True" if done else "Unknown", "reason": "R",
                              "lastTransitionTime": "2021-01-01T00:00:00Z"}]}
    return {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run",
            "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(second + (100 if done else 0)),
                         "creationTimestamp": f"2021-01-01T00:00:{second:02d}Z"},
            "spec": {"jobRef": {"name": "load"}}, "status": status}


def test_a_jobs_queue_is_indexed_so_a_finished_run_wakes_only_the_runs_that_may_start():
    ns = NamespaceCache("ns", threading.RLock())
    ns.put_job({"apiVersion": "kasset.dev/v1alpha1", "kind": "Job", "metadata": {"name": "load", "resourceVersion": "1"},
                "spec": {"selection": {"assets": ["a"]}, "maxConcurrentRuns": 2}})
    for second in (5, 1, 3, 2, 4):
        ns.put_run(queued_run(f"r{second}", second))
    assert [ns.unfinished_runs_before(ns.runs.valid[f"r{s}"]) for s in (1, 2, 3, 4, 5)] == [0, 1, 2, 3, 4]
    assert ns.runs_waiting_for_a_slot("load") == ["r1", "r2"]
    ns.put_run(queued_run("r1", 1, done=True))
    assert ns.runs_waiting_for_a_slot("load") == ["r2", "r3"]
    assert ns.unfinished_runs_before(ns.runs.valid["r5"]) == 3
    ns.delete_run("r2")
    assert ns.runs_waiting_for_a_slot("load") == ["r3", "r4"]
