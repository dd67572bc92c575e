"""Status stays small: every field bounded, a 500-step Run status and an Asset status with 100 lineage entries
stay ≤ 256 KiB as JSON in the worst case (every field at its maximum), trimmed in a fixed order."""

import json

from kasset.api import AssetStatus, Condition, RunStatus, StepStatus, to_manifest
from kasset.api.asset import MAX_MATERIALIZATION_METADATA_BYTES, MAX_STALE_REASONS
from kasset.api.base import json_size
from kasset.api.common import Container
from kasset.api.run import MAX_INLINE_ITEMS_BYTES, MAX_RUN_STATUS_BYTES, MAX_STEP_METADATA_BYTES
from kasset.planning import ObservedJob, PlanSettings, StepResult
from kasset.planning.graph import StepGraph, StepNode
from kasset.planning.runstatus import (
    METADATA_NOTE_KEY,
    assemble_status,
    bound_metadata,
    bound_run_status,
    record_materializations,
)

from kasset_factories import T0, at, index, make_asset, make_run, materialized

LIMIT = 256 * 1024
CONTAINER = Container(image="i")


def max_length(model, field: str) -> int:
    """The max_length the model declares for `field` (so the worst case grows if a limit is raised)."""
    return next(meta.max_length for meta in model.model_fields[field].metadata if hasattr(meta, "max_length"))


def longest(model, field: str, prefix: str = "") -> str:
    return (prefix + "x" * max_length(model, field))[: max_length(model, field)]


def json_of_size(size: int) -> dict:
    """A metadata object whose compact JSON is exactly `size` bytes."""
    return {"k": "v" * (size - json_size({"k": ""}))}


def size_of(status) -> int:
    return len(json.dumps(to_manifest(status)))


def worst_step(name: str, *, state: str = "Succeeded") -> StepStatus:
    """A step status with every field at its maximum: items and metadata at their byte caps."""
    return StepStatus(
        name=name,
        asset=name,
        state=state,
        job_name=longest(StepStatus, "job_name"),
        attempts=10**9,
        start_time=T0,
        completion_time=at(1),
        message=longest(StepStatus, "message"),
        data_version=longest(StepStatus, "data_version"),
        item_count=10**9,
        items=["y" * (MAX_INLINE_ITEMS_BYTES - len('[""]'))],
        result_ref=longest(StepStatus, "result_ref"),
        metadata=json_of_size(MAX_STEP_METADATA_BYTES),
    )


def long_names(count: int) -> list[str]:
    return [f"s{i:03d}-" + "n" * (253 - 5) for i in range(count)]


def test_the_worst_case_step_really_has_every_field_at_its_limit():
    step = worst_step(long_names(1)[0])
    assert len(step.name) == 253 and len(step.message) == 256 and len(step.result_ref) == 512
    assert len(step.data_version) == 128 and len(step.job_name) == 63
    assert json_size(step.items) == MAX_INLINE_ITEMS_BYTES and json_size(step.metadata) == MAX_STEP_METADATA_BYTES
    assert json_size(to_manifest(step)) > 34_000


def test_a_500_step_run_status_with_every_field_at_its_maximum_fits_in_256_kib():
    names = long_names(500)
    done, waiting = names[:495], names[495:]
    # Every succeeded step is read by an unfinished one: nothing is dropped for being unneeded.
    nodes = [StepNode(name=n, asset=n, container=CONTAINER) for n in done]
    nodes += [
        StepNode(name=n, asset=n, container=CONTAINER, depends_on=tuple(done[i * 99 : (i + 1) * 99]))
        for i, n in enumerate(waiting)
    ]
    statuses = {n: worst_step(n) for n in done} | {n: worst_step(n, state="Pending") for n in waiting}
    raw = RunStatus(steps=list(statuses.values()))
    run = make_run("r" * 253)
    status, finished, _ = assemble_status(
        run, graph=StepGraph(steps=tuple(nodes), max_parallel_steps=1000), statuses=statuses, prior={},
        now=T0, settings=PlanSettings(),
    )
    size = size_of(status)
    print(f"\nworst-case Run status: {size_of(raw)} bytes before bounding, {size} bytes after (limit {LIMIT})")
    assert size <= LIMIT
    assert not finished and [(s.name, s.state) for s in status.steps] == [(n, statuses[n].state) for n in names]
    # What unfinished steps read goes last: the upstream dataVersions (lineage) are still there.
    assert all(s.data_version == statuses[s.name].data_version for s in status.steps[:495])
    assert "status over 262144 bytes: dropped" in status.conditions[0].message


def test_the_trimmed_floor_of_500_needed_steps_fits_even_with_nothing_left_to_drop():
    names = long_names(500)
    status = RunStatus(steps=[worst_step(n) for n in names])
    bounded, trimmed = bound_run_status(status, needed=frozenset(names), max_bytes=0)
    size = size_of(bounded)
    print(f"\nRun status with every step trimmed to its floor: {size} bytes")
    assert trimmed == "job names and start times of running steps"
    assert size <= LIMIT
    assert [s.name for s in bounded.steps] == names


def test_a_status_under_the_limit_is_not_trimmed():
    steps = [StepStatus(name=f"s{i}", asset=f"s{i}", state="Succeeded", message="fine", data_version="v1",
                        job_name=f"run-s{i}-abc", start_time=T0, metadata={"rows": i}) for i in range(500)]
    status = RunStatus(steps=steps)
    assert bound_run_status(status) == (status, None)


def test_trimming_stops_at_the_first_stage_that_fits_dropping_metadata_first():
    steps = [StepStatus(name=f"s{i}", state="Succeeded", message="kept",
                        metadata=json_of_size(MAX_STEP_METADATA_BYTES)) for i in range(500)]
    status = RunStatus(steps=steps)
    assert size_of(status) > MAX_RUN_STATUS_BYTES
    bounded, trimmed = bound_run_status(status)
    assert trimmed == "step metadata"
    assert all(s.metadata is None and s.message == "kept" for s in bounded.steps)


def test_fields_over_their_limits_are_clamped_even_when_the_status_is_small():
    step = StepStatus(name="a", state="Succeeded").model_copy(
        update={"message": "m" * 5000, "data_version": "d" * 500, "result_ref": "r" * 5000,
                "metadata": json_of_size(MAX_STEP_METADATA_BYTES + 1), "items": ["i"] * 1001}
    )
    bounded, trimmed = bound_run_status(RunStatus(steps=[step]))
    (clamped,) = bounded.steps
    assert trimmed is None
    assert len(clamped.message) == 256 and clamped.message.endswith("...")
    assert clamped.data_version.startswith("sha256:") and len(clamped.data_version) == 71
    assert (clamped.result_ref, clamped.metadata, clamped.items) == (None, None, None)
    StepStatus.model_validate(to_manifest(clamped))  # within every limit of the model (and so of the CRD)


def test_the_run_condition_says_when_steps_were_trimmed():
    names = long_names(500)
    nodes = tuple(StepNode(name=n, asset=n, container=CONTAINER) for n in names)
    statuses = {n: worst_step(n) for n in names}
    status, finished, events = assemble_status(
        make_run(), graph=StepGraph(steps=nodes, max_parallel_steps=10), statuses=statuses, prior={}, now=T0,
        settings=PlanSettings(),
    )
    assert finished and size_of(status) <= LIMIT
    message = status.conditions[0].message
    assert message.startswith("500/500 steps succeeded (status over 262144 bytes: dropped ")
    # Finished: nothing is read any more, so results went before the failure messages.
    assert all(s.data_version is None and s.result_ref is None for s in status.steps)


def test_no_event_per_succeeded_step_only_step_failed_and_the_run_outcome():
    nodes = tuple(StepNode(name=n, container=CONTAINER) for n in ("a", "b", "c"))
    graph = StepGraph(steps=nodes, max_parallel_steps=3)
    run = make_run()
    running = {n: StepStatus(name=n, state="Running") for n in "abc"}
    half = running | {"a": StepStatus(name="a", state="Succeeded"),
                      "b": StepStatus(name="b", state="Failed", message="boom")}
    _, _, events = assemble_status(run, graph=graph, statuses=half, prior=running, now=T0, settings=PlanSettings())
    assert [(e.type, e.reason) for e in events] == [("Warning", "StepFailed")]
    done = half | {"c": StepStatus(name="c", state="Succeeded")}
    _, finished, events = assemble_status(run, graph=graph, statuses=done, prior=half, now=T0, settings=PlanSettings())
    assert finished and [(e.type, e.reason) for e in events] == [("Warning", "RunFailed")]
    ok = {n: StepStatus(name=n, state="Succeeded") for n in "abc"}
    _, _, events = assemble_status(run, graph=graph, statuses=ok, prior=running, now=T0, settings=PlanSettings())
    assert [(e.type, e.reason) for e in events] == [("Normal", "RunSucceeded")]


def worst_condition(i: int) -> Condition:
    return Condition(type=f"T{i:02d}" + "t" * 313, status="Unknown", reason="R" * 1024, message="m" * 1024,
                     last_transition_time=T0, observed_generation=10**9)


def test_an_asset_status_with_100_lineage_entries_and_every_field_at_its_maximum_fits_in_256_kib():
    upstreams = [
        materialized(make_asset(f"u{i:03d}-" + "u" * 248), run=f"r{i:03d}-" + "r" * 248,
                     data_version="d" * 128, partition="p" * 253)
        for i in range(100)
    ]
    name = "a" * 253
    asset = make_asset(name, *(u.metadata.name for u in upstreams), codeVersion="c" * 253)
    step = worst_step(name).model_copy(update={"job_name": "job"})
    observed = {"job": ObservedJob(name="job", is_complete=True, result=StepResult(
        metadata=json_of_size(MAX_MATERIALIZATION_METADATA_BYTES)))}
    run = make_run("r" * 253, partition="p" * 253)
    (update,) = record_materializations(
        run, graph=StepGraph(steps=(StepNode(name=name, asset=name, container=CONTAINER),), max_parallel_steps=1),
        statuses={name: step}, prior={}, assets=index(asset, *upstreams), observed=observed, now=T0,
    )
    record = update.materialization
    assert len(record.lineage) == 100 and all(len(e.partition) == 253 for e in record.lineage)
    assert json_size(record.metadata) == MAX_MATERIALIZATION_METADATA_BYTES
    status = AssetStatus(
        observed_generation=10**9,
        conditions=[worst_condition(i) for i in range(16)],
        last_materialization=record,
        stale_reasons=["s" * 1024] * MAX_STALE_REASONS,
    )
    size = size_of(status)
    print(f"\nworst-case Asset status: {size} bytes (limit {LIMIT})")
    assert size <= LIMIT
    AssetStatus.model_validate(to_manifest(status))


def test_materialization_metadata_over_its_cap_is_replaced_by_a_note():
    big = json_of_size(MAX_MATERIALIZATION_METADATA_BYTES + 1)
    assert bound_metadata(big) == {
        METADATA_NOTE_KEY: f"metadata of {MAX_MATERIALIZATION_METADATA_BYTES + 1} bytes as JSON not kept "
        f"(limit {MAX_MATERIALIZATION_METADATA_BYTES})"
    }
    assert bound_metadata({"rows": 3}) == {"rows": 3}
    # Non-ASCII text counts as it is escaped in JSON.
    escaped = {"k": "é" * (MAX_MATERIALIZATION_METADATA_BYTES // 6)}
    assert METADATA_NOTE_KEY in bound_metadata(escaped)


def test_every_string_in_the_status_schemas_is_bounded():
    from kasset.api.kinds import KINDS, build_root_schema
    from kasset.api.schema import walk_schema

    unbounded = [
        f"{info.name}{path}"
        for info in KINDS
        for path, node in walk_schema(build_root_schema(info)["properties"]["status"])
        if node.get("type") == "string" and "maxLength" not in node and "enum" not in node
        and node.get("format") != "date-time"
    ]
    assert unbounded == []


def test_the_run_status_limit_is_256_kib():
    assert MAX_RUN_STATUS_BYTES == LIMIT
