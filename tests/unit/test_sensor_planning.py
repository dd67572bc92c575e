"""Sensor planning: one Run name per event (the same event always asks for the same Run), params from the
event's plain JSON, status counts and the bounded list of recent Runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kasset.api import find_condition
from kasset.api.sensor import MAX_RECENT_RUNS, Sensor
from kasset.planning.sensor import body_event_id, build_run_request, plan_sensor_status, webhook_event
from kasset.planning.templates import TemplateError
from kasset_factories import NAMESPACE, created, finished

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_sensor(**spec) -> Sensor:
    spec.setdefault("webhook", {"tokenSecretRef": {"name": "t"}})
    spec.setdefault("jobRef", {"name": "load"})
    return Sensor.model_validate({"metadata": {"name": "hook", "namespace": NAMESPACE, "uid": "uid-hook",
                                               "generation": 1}, "spec": spec})


def test_the_same_event_always_asks_for_the_same_run_and_another_event_for_another():
    sensor = make_sensor(params={"key": "{{ body.key }}"})
    first = build_run_request(sensor, webhook_event("m-1", {"key": "a"}))
    again = build_run_request(sensor, webhook_event("m-1", {"key": "a"}))
    other = build_run_request(sensor, webhook_event("m-2", {"key": "a"}))
    assert first.name == again.name != other.name
    assert first.spec.run_key == "sensor/uid-hook/webhook/m-1"
    assert first.spec.params == {"key": "a"} and first.spec.trigger.type == "Sensor"
    assert first.labels == {"kasset.dev/sensor": "hook", "kasset.dev/trigger": "sensor"}


def test_a_template_naming_a_missing_field_raises_naming_it():
    with pytest.raises(TemplateError, match="spec.params.key: {{ body.key }}: body has no key 'key'"):
        build_run_request(make_sensor(params={"key": "{{ body.key }}"}), webhook_event("m", {}))


def test_the_event_id_may_come_from_a_body_field():
    assert body_event_id({"detail": {"id": 42}}, "body.detail.id") == "42"
    assert body_event_id({"detail": {}}, "body.detail.id") is None
    assert body_event_id({"detail": {"id": {"x": 1}}}, "body.detail.id") is None


def test_a_sensor_needs_exactly_one_source_and_one_target():
    with pytest.raises(ValueError, match="exactly one source"):
        make_sensor(assetMaterialized={"assets": ["a"]})
    with pytest.raises(ValueError, match="exactly one of jobRef and selection"):
        make_sensor(selection={"assets": ["a"]})


def test_status_counts_runs_by_outcome_and_lists_the_newest_bounded():
    sensor = make_sensor()
    plans = [type("P", (), {"creates": (build_run_request(sensor, webhook_event(f"m-{i}", {})),)})
             for i in range(30)]
    runs = [run.model_copy(update={"metadata": run.metadata.model_copy(
        update={"creation_timestamp": NOW + timedelta(seconds=i)})}) for i, plan in enumerate(plans)
        for run in created(plan)]
    runs = [finished(r) for r in runs[:10]] + [finished(r, "False") for r in runs[10:12]] + runs[12:]
    status = plan_sensor_status(sensor, runs=runs, now=NOW, endpoint="/sensors/team/hook")
    assert (status.succeeded, status.failed, status.running) == (10, 2, 18)
    assert len(status.recent_runs) == MAX_RECENT_RUNS and status.recent_runs[0].run == runs[-1].metadata.name
    assert status.last_event_time == NOW + timedelta(seconds=29)
    ready = find_condition(status.conditions, "Ready")
    assert (ready.status, ready.reason, ready.message) == ("True", "Listening",
                                                            "POST events to /sensors/team/hook on the operator's port")


def test_a_rendered_partition_over_its_limit_is_a_template_error_naming_the_field():
    sensor = make_sensor(partition="{{ body.day }}", selection=None)
    with pytest.raises(TemplateError, match="spec.partition: the rendered value is refused"):
        build_run_request(sensor, webhook_event("m", {"day": "d" * 300}))


def test_a_template_cannot_render_without_bound():
    """A 12 KB template over 64 KiB of metadata once rendered 62 MiB."""
    metadata = {"blob": "x" * 64 * 1024}
    many = make_sensor(params={"p": "{{ body.blob }}" * 1000})
    with pytest.raises(TemplateError, match="spec.params.p: renders to more than 16384 characters"):
        build_run_request(many, webhook_event("m", metadata))
    wide = make_sensor(params={f"k{i}": "{{ body.blob }}" for i in range(100)})
    with pytest.raises(TemplateError, match="renders to more than 65536 characters"):
        build_run_request(wide, webhook_event("m", metadata))
    fine = build_run_request(make_sensor(params={"p": "{{ body.blob }}"}), webhook_event("m", {"blob": "x" * 100}))
    assert fine.spec.params == {"p": "x" * 100}


def test_seen_keys_remember_pruned_runs_newest_first_and_bounded():
    from kasset.api.sensor import MAX_SEEN_KEYS
    from kasset.planning.sensor import key_hash, remember_keys, seen_before

    sensor = make_sensor(params={"key": "{{ body.key }}"})
    runs = [build_run(f"r{i}", f"sensor/uid-hook/webhook/m-{i}") for i in range(3)]
    seen = remember_keys([], runs)
    assert seen == [key_hash(f"sensor/uid-hook/webhook/m-{i}") for i in range(3)]
    later = remember_keys(seen, runs[2:])  # r0 and r1 were pruned: their keys stay
    assert set(later) == set(seen)
    remembered = Sensor.model_validate(sensor.model_dump(by_alias=True) | {"status": {"seenKeys": later}})
    assert seen_before(remembered, webhook_event("m-0", {})) and not seen_before(remembered, webhook_event("m-9", {}))
    many = remember_keys([key_hash(str(i)) for i in range(MAX_SEEN_KEYS)], runs)
    assert len(many) == MAX_SEEN_KEYS and many[:3] == seen


def build_run(name: str, run_key: str):
    from kasset.api.run import Run

    return Run.model_validate({"metadata": {"name": name, "namespace": NAMESPACE},
                               "spec": {"jobRef": {"name": "load"}, "runKey": run_key}})
