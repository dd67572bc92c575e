"""Plan one reconcile of a Backfill: which Runs to create now, which to delete, and the Backfill's new status.

Policy, in short:
- The partitions are cut into batches (see `backfilltargets`); batch `i` (0-based, in key order) runs as Run
  `<backfill>-<i>`, its k-th rerun as `<backfill>-<i>-r<k>`, with `runKey: backfill/<uid>/<i>/<k>`. The names
  are deterministic and the reconciler reads the Runs from a cache synced before any reconcile, so a restarted
  operator never creates a batch's Run twice. A name taken by another object (a Run of an earlier Backfill of
  the same name) is skipped: the attempt number moves on.
- At most `maxConcurrentRuns` unfinished Runs at once; the next batches start in key order as slots free.
  `suspend` creates nothing new.
- A partition counts by its batch's latest Run. Raising `rerunFailed` to R gives every batch whose latest Run
  failed and was created before R was reached (annotation kasset.dev/backfill-rerun < R) one new Run.
- Complete: Unknown (Running, Suspended, Pending) while partitions remain; True (Succeeded) when all
  succeeded; False (PartitionsFailed) when all finished and some failed; False (InvalidSpec) when the target
  does not resolve.
- Runs of an earlier Backfill of the same name (another uid in their runKey) that have not started are
  deleted: deleting a Backfill cancels what it had not started (see `select_unstarted_runs`).

Does not: resolve the target's partitions (see `backfilltargets`), or talk to the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kasset.api.backfill import MAX_FAILED_RANGES, Backfill, BackfillStatus
from kasset.api.base import ensure_utc
from kasset.api.conditions import ConditionStatus, find_condition, set_condition
from kasset.api.contract import (
    ANNOTATION_BACKFILL_PARTITIONS,
    ANNOTATION_BACKFILL_RERUN,
    COMPLETE,
    LABEL_BACKFILL,
    LABEL_TRIGGER,
)
from kasset.api.run import PartitionKeyRange, Run, RunSpec, Trigger
from kasset.planning.backfilltargets import BackfillTargets, failed_ranges, format_range
from kasset.planning.dag import Problem
from kasset.planning.model import PlanEvent, RunRequest
from kasset.planning.names import DNS_LABEL_MAX, make_dns_label, sanitize_label_value
from kasset.planning.run import is_run_finished

_RUN_KEY = re.compile(r"^backfill/(?P<uid>[^/]+)/(?P<index>\d+)/(?P<attempt>\d+)$")
#: Seconds after which a Backfill waiting for its assets' facts is looked at again.
PENDING_REQUEUE_SECONDS = 5.0
#: Failed ranges named in the Complete condition's message.
RANGES_IN_MESSAGE = 5


@dataclass(frozen=True)
class BackfillPlan:
    """What the Backfill reconciler should do, in this order: create `creates` (409 = already created),
    delete `deletes` (unstarted Runs of an earlier Backfill of the same name), then write `status`."""

    status: BackfillStatus
    creates: tuple[RunRequest, ...] = ()
    deletes: tuple[str, ...] = ()
    events: tuple[PlanEvent, ...] = ()
    requeue_after: float | None = None


@dataclass(frozen=True)
class BatchState:
    """One batch as observed: its latest Run (None before the first), and the attempt numbers used."""

    index: int
    keys: tuple[str, ...]
    latest: Run | None = None
    last_attempt: int = -1

    @property
    def outcome(self) -> str:
        """pending, running, succeeded or failed."""
        if self.latest is None:
            return "pending"
        condition = find_condition(self.latest.status.conditions, "Succeeded")
        if condition is None or condition.status == "Unknown":
            return "running"
        return "succeeded" if condition.status == "True" else "failed"

    def wants_run(self, rerun_failed: int) -> bool:
        if self.latest is None:
            return True
        return self.outcome == "failed" and rerun_round(self.latest) < rerun_failed


# -- names ---------------------------------------------------------------------------------------------------

def backfill_run_name(backfill: str, index: int, attempt: int = 0) -> str:
    """`<backfill>-<index>` (first attempt) or `<backfill>-<index>-r<attempt>`, a DNS label of at most 63
    characters (Run names reach step Job names): a backfill name that does not fit is cut and hashed."""
    suffix = f"-{index}" + (f"-r{attempt}" if attempt else "")
    return make_dns_label(backfill, max_length=DNS_LABEL_MAX - len(suffix)) + suffix


def backfill_run_key(uid: str, index: int, attempt: int) -> str:
    return f"backfill/{uid}/{index}/{attempt}"


def parse_run_key(run: Run) -> tuple[str, int, int] | None:
    """(Backfill uid, batch index, attempt) of a Run a Backfill created, else None."""
    found = _RUN_KEY.match(run.spec.run_key or "")
    return (found["uid"], int(found["index"]), int(found["attempt"])) if found else None


def rerun_round(run: Run) -> int:
    """The Backfill's spec.rerunFailed when it created `run`."""
    value = run.metadata.annotations.get(ANNOTATION_BACKFILL_RERUN, "0")
    return int(value) if value.isdigit() else 0


def is_backfill_finished(backfill: Backfill) -> bool:
    """True once Complete is True or False for the Backfill's current generation."""
    outcome = find_condition(backfill.status.conditions, COMPLETE)
    return (outcome is not None and outcome.status != "Unknown"
            and backfill.status.observed_generation == backfill.metadata.generation)


def backfill_of(run: Run) -> str | None:
    """The name of the Backfill that created `run` (from its trigger), if one did."""
    trigger = run.spec.trigger
    if trigger is None or trigger.type != "Backfill" or not (trigger.source or "").startswith("Backfill/"):
        return None
    return trigger.source.removeprefix("Backfill/")


# -- the plan ------------------------------------------------------------------------------------------------

def plan_backfill(
    backfill: Backfill,
    *,
    targets: BackfillTargets | Problem,
    runs: Sequence[Run],
    now: datetime,
    name_taken: Callable[[str], bool] = lambda name: False,
) -> BackfillPlan:
    """Plan the Backfill. `targets`: its batches (or why they do not resolve); `runs`: the Runs labelled with
    its name; `name_taken`: whether a Run name is used in the namespace (by any object)."""
    now = ensure_utc(now)
    uid = backfill.metadata.uid or ""
    keys = {run.metadata.name: parse_run_key(run) for run in runs}
    own = [run for run in runs if (keys[run.metadata.name] or ("",))[0] == uid]
    earlier = [run for run in runs if keys[run.metadata.name] is not None and keys[run.metadata.name][0] != uid]
    deletes = tuple(select_unstarted_runs(earlier))
    if isinstance(targets, Problem):
        status = plan_problem_status(backfill, targets, runs=len(own), now=now)
        requeue = PENDING_REQUEUE_SECONDS if targets.transient else None
        return BackfillPlan(status=status, deletes=deletes, events=_events(backfill, status), requeue_after=requeue)
    batches = observe_batches(targets, own)
    unfinished = sum(1 for run in own if not is_run_finished(run))
    creates = plan_creates(backfill, batches, slots=backfill.spec.max_concurrent_runs - unfinished,
                           name_taken=name_taken)
    created = {request.index: request.run for request in creates}
    batches = [b if b.index not in created else BatchState(b.index, b.keys, created[b.index]) for b in batches]
    status = plan_status(backfill, batches, targets=targets, runs=len(own) + len(creates), now=now)
    requests = tuple(request.request for request in creates)
    return BackfillPlan(status=status, creates=requests, deletes=deletes, events=_events(backfill, status))


def observe_batches(targets: BackfillTargets, own: Sequence[Run]) -> list[BatchState]:
    """Every batch with its latest Run (the highest attempt) among the Backfill's own Runs."""
    latest: dict[int, BatchState] = {}
    for run in own:
        _uid, index, attempt = parse_run_key(run)
        if index not in latest or attempt > latest[index].last_attempt:
            latest[index] = BatchState(index, (), latest=run, last_attempt=attempt)
    found = []
    for index, keys in enumerate(targets.batches):
        seen = latest.get(index)
        found.append(BatchState(index, keys, latest=seen.latest if seen else None,
                                last_attempt=seen.last_attempt if seen else -1))
    return found


@dataclass(frozen=True)
class _Create:
    index: int
    request: RunRequest
    run: Run


def plan_creates(
    backfill: Backfill, batches: Sequence[BatchState], *, slots: int, name_taken: Callable[[str], bool]
) -> list[_Create]:
    """The next batches (key order) that want a Run, at most `slots` of them; none while suspended."""
    spec = backfill.spec
    if spec.suspend:
        return []
    creates = []
    for batch in batches:
        if slots <= 0:
            break
        if batch.wants_run(spec.rerun_failed):
            attempt = batch.last_attempt + 1
            while name_taken(backfill_run_name(backfill.metadata.name, batch.index, attempt)):
                attempt += 1
            request = build_run_request(backfill, batch, attempt=attempt)
            creates.append(_Create(batch.index, request, _as_run(request)))
            slots -= 1
    return creates


def build_run_request(backfill: Backfill, batch: BatchState, *, attempt: int) -> RunRequest:
    """The Run of `batch`'s attempt `attempt`: the Backfill's target and params, the batch's key or range."""
    name, spec, keys = backfill.metadata.name, backfill.spec, batch.keys
    run_spec = RunSpec(
        job_ref=spec.job_ref,
        selection=spec.selection,
        params=dict(spec.params),
        partition=keys[0] if len(keys) == 1 else None,
        partition_range=PartitionKeyRange(start=keys[0], end=keys[-1]) if len(keys) > 1 else None,
        trigger=Trigger(type="Backfill", source=f"Backfill/{name}"),
        run_key=backfill_run_key(backfill.metadata.uid or "", batch.index, attempt),
    )
    return RunRequest(
        name=backfill_run_name(name, batch.index, attempt),
        spec=run_spec,
        labels={LABEL_BACKFILL: sanitize_label_value(name), LABEL_TRIGGER: "backfill"},
        annotations={ANNOTATION_BACKFILL_PARTITIONS: format_range(keys[0], keys[-1]),
                     ANNOTATION_BACKFILL_RERUN: str(spec.rerun_failed)},
    )


def _as_run(request: RunRequest) -> Run:
    """The Run a request creates, as the planner counts it (unfinished)."""
    return Run(metadata={"name": request.name, "annotations": request.annotations}, spec=request.spec)


def select_unstarted_runs(runs: Sequence[Run]) -> list[str]:
    """Names of the Runs that have not started (no startTime, not finished): what deleting their Backfill
    cancels. Started Runs finish."""
    return sorted(run.metadata.name for run in runs if run.status.start_time is None and not is_run_finished(run))


# -- status --------------------------------------------------------------------------------------------------

def plan_status(
    backfill: Backfill, batches: Sequence[BatchState], *, targets: BackfillTargets, runs: int, now: datetime
) -> BackfillStatus:
    """Counts by the outcome of each partition's latest Run, the failed ranges and the Complete condition."""
    counts = {"pending": 0, "running": 0, "succeeded": 0, "failed": 0}
    failed_keys: set[str] = set()
    for batch in batches:
        outcome = batch.outcome
        if outcome == "failed" and batch.wants_run(backfill.spec.rerun_failed):
            outcome = "pending"  # a rerun waits for a slot (or for suspend to end)
        counts[outcome] += len(batch.keys)
        if outcome == "failed":
            failed_keys.update(batch.keys)
    requested = sum(counts.values())
    ranges = failed_ranges(targets, failed_keys)
    finished = counts["pending"] == counts["running"] == 0
    status, reason, message = _complete(backfill, counts, requested=requested, ranges=ranges, finished=finished)
    prior = backfill.status
    return prior.model_copy(update={
        **counts,
        "requested": requested,
        "runs": runs,
        "failed_partitions": ranges[:MAX_FAILED_RANGES],
        "progress": f"{counts['succeeded']}/{requested}",
        "conditions": _set_complete(backfill, status, reason, message, now=now),
        "observed_generation": backfill.metadata.generation,
        "start_time": prior.start_time or (now if runs else None),
        "completion_time": (prior.completion_time or now) if finished else None,
    })


def _complete(backfill: Backfill, counts: dict[str, int], *, requested: int, ranges: list, finished: bool
              ) -> tuple[ConditionStatus, str, str]:
    if finished and counts["failed"] == 0:
        return "True", "Succeeded", f"{requested} partitions succeeded"
    if finished:
        named = ", ".join(format_range(r.start, r.end) for r in ranges[:RANGES_IN_MESSAGE])
        more = f" and {len(ranges) - RANGES_IN_MESSAGE} more ranges" if len(ranges) > RANGES_IN_MESSAGE else ""
        return "False", "PartitionsFailed", f"{counts['failed']} of {requested} partitions failed: {named}{more}"
    summary = f"{counts['succeeded']}/{requested} partitions succeeded, {counts['running']} running, " \
              f"{counts['pending']} pending, {counts['failed']} failed"
    if backfill.spec.suspend:
        return "Unknown", "Suspended", f"suspended (spec.suspend): {summary}"
    return "Unknown", "Running", summary


def plan_problem_status(backfill: Backfill, problem: Problem, *, runs: int, now: datetime) -> BackfillStatus:
    """InvalidSpec (False) naming what does not resolve; Pending (Unknown) for a wait (facts not derived yet)."""
    status, reason = ("Unknown", "Pending") if problem.transient else ("False", "InvalidSpec")
    return backfill.status.model_copy(update={
        "conditions": _set_complete(backfill, status, reason, problem.message, now=now),
        "observed_generation": backfill.metadata.generation,
        "runs": runs,
    })


def _set_complete(backfill: Backfill, status: ConditionStatus, reason: str, message: str, *, now: datetime):
    return set_condition(backfill.status.conditions, type=COMPLETE, status=status, reason=reason, message=message,
                         now=now, generation=backfill.metadata.generation)


def _events(backfill: Backfill, status: BackfillStatus) -> tuple[PlanEvent, ...]:
    """An Event when Complete becomes True or False (not on every count change)."""
    before = find_condition(backfill.status.conditions, COMPLETE)
    after = find_condition(status.conditions, COMPLETE)
    if after is None or after.status == "Unknown" or (before is not None and
                                                      (before.status, before.reason) == (after.status, after.reason)):
        return ()
    return (PlanEvent("Normal" if after.status == "True" else "Warning", after.reason, after.message),)
