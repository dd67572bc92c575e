"""Largest object written: the worst case of every status the operator writes, built from the models' bounds.

For each kind (`kasset.api.kinds.KINDS`) the status model is filled to its limits, read from the pydantic fields
themselves so the figure follows the models: every list at its `max_length` (a 500-step Run has 500 step entries),
every string at its `max_length` (names unique), integers at their `le` bound or 2^63-1, literals at their longest
value. Two facts the models state in words are kept: an asset step is named after its asset (`StepStatus.asset`
equals its `name`), and the operator writes only its own condition types (`WRITTEN_CONDITIONS`, each at its longest
reason and message) where the schema would allow 16 of any type — the model's own worst case is reported beside it.
What a step reports is plain JSON the schema does not bound; it is filled to the byte limit the API module declares
for that field (`BYTE_LIMITS`), else to what reaches the operator at all, a 4 KiB termination message.
`bound_for_writing` then applies what the planner does to a status before it is written (for a Run,
`bound_run_status` trims it to MAX_RUN_STATUS_BYTES), with every step counted as still read by another (the largest
case). A list or string without a bound makes the worst case unbounded: the figure is then missing and the goal not
met, with the offending fields named. Because every list is bounded, no history (10,000 steps run, or 10,000
materializations) can make a status larger than this.

Does not: add metadata or spec, which are the user's (the operator writes only status).
"""

from __future__ import annotations

import datetime
import json
import string
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

import kasset.api.asset as asset_api
import kasset.api.checks as checks_api
import kasset.api.partitionslice as slice_api
import kasset.api.run as run_api
from kasset.api import contract
from kasset.api.base import to_manifest
from support.benchresults import Figure

pytestmark = pytest.mark.bench
#: What the kubelet keeps of a termination message: the most a step can report inline.
TERMINATION_MESSAGE_BYTES = 4096
LATEST = datetime.datetime(2099, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)


#: (model, field) -> the byte limit the API module declares for plain JSON in that field.
BYTE_LIMITS = {
    ("StepStatus", "items"): getattr(run_api, "MAX_INLINE_ITEMS_BYTES", TERMINATION_MESSAGE_BYTES),
    ("StepStatus", "metadata"): getattr(run_api, "MAX_STEP_METADATA_BYTES", TERMINATION_MESSAGE_BYTES),
    ("Materialization", "metadata"): getattr(asset_api, "MAX_MATERIALIZATION_METADATA_BYTES",
                                             TERMINATION_MESSAGE_BYTES),
    ("CheckResult", "metadata"): checks_api.MAX_CHECK_METADATA_BYTES,
    ("PartitionRecord", "metadata"): slice_api.MAX_RECORD_METADATA_BYTES,
}


#: Status model -> the condition types the operator writes in it (`kasset.api.contract`).
WRITTEN_CONDITIONS = {
    "RunStatus": (contract.SUCCEEDED,),
    "JobStatus": (contract.READY,),
    "AssetStatus": (contract.MATERIALIZED, contract.STALE, contract.DEPENDENCIES_RESOLVED, contract.CHECKS_PASSED),
}
#: (model, field) -> the field of the same model it always equals.
SAME_AS = {("StepStatus", "asset"): "name"}


def bound_for_writing(kind: str, status: BaseModel) -> BaseModel:
    """ADAPTER to the planner: what it does to a `kind` status before writing it (identity where nothing)."""
    if kind == "PartitionSlice":
        from kasset.planning.partitionrecords import bound_slice_records

        return status.model_copy(update={"records": bound_slice_records(list(status.records))})
    if kind != "Run":
        return status
    from kasset.planning.runstatus import bound_run_status

    every_step = frozenset(step.name for step in status.steps)
    return bound_run_status(status, needed=every_step)[0]


def status_models() -> dict[str, type[BaseModel]]:
    try:
        from kasset.api.kinds import KINDS
    except ImportError:  # the models moved: fall back to the kinds known when this bench was written
        from kasset.api import AssetStatus, JobStatus, RunStatus
        return {"Asset": AssetStatus, "Job": JobStatus, "Run": RunStatus}
    return {info.name: info.status for info in KINDS}


class WorstCase:
    """Fill models to the bounds their fields declare; remember the fields that declare none."""

    def __init__(self, *, byte_bounds: dict[tuple[str, str], int], operator_facts: bool = True):
        self.byte_bounds = byte_bounds
        self.operator_facts = operator_facts
        self.unbounded: list[str] = []
        self._names = 0

    def model(self, cls: type[BaseModel], path: str) -> dict[str, Any]:
        fields = cls.model_fields
        out = {self._alias(cls, name): self.value(info.annotation, list(info.metadata), f"{path}.{name}",
                                                  owner=(cls.__name__, name))
               for name, info in fields.items()}
        if not self.operator_facts:
            return out
        for (model, name), same in SAME_AS.items():
            if model == cls.__name__:
                out[self._alias(cls, name)] = out[self._alias(cls, same)]
        if cls.__name__ in WRITTEN_CONDITIONS and "conditions" in fields:
            written = WRITTEN_CONDITIONS[cls.__name__]
            out["conditions"] = [{**condition, "type": type_}
                                 for condition, type_ in zip(out["conditions"], written, strict=False)]
        return out

    @staticmethod
    def _alias(cls: type[BaseModel], name: str) -> str:
        return cls.model_fields[name].alias or name

    def value(self, tp: Any, meta: list, path: str, owner: tuple[str, str] | None = None) -> Any:
        origin, args = get_origin(tp), get_args(tp)
        if origin is Annotated:
            return self.value(args[0], meta + _constraints(args[1:]), path, owner)
        if origin in (Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            return self.value(options[0], meta, path, owner) if len(options) == 1 else self._json(path, owner)
        if origin is Literal:
            return max(args, key=lambda v: len(str(v)))
        if tp is Any or tp is dict or origin is dict or (origin is list and args and args[0] is Any):
            return self._json(path, owner, as_list=origin is list)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return self.model(tp, path)
        if origin is list:
            return [self.value(args[0], [], f"{path}[]") for _ in range(self._bound(meta, "max_length", path))]
        if tp is str:
            return self._unique(self._bound(meta, "max_length", path))
        if tp is bool:
            return False
        if tp is int:
            return next((m.le for m in meta if hasattr(m, "le")), 2**63 - 1)
        if tp is float:
            return -1.7976931348623157e308
        if tp is datetime.datetime:
            return LATEST
        raise TypeError(f"{path}: no worst case for {tp!r}")

    def _bound(self, meta: list, name: str, path: str) -> int:
        bound = next((getattr(m, name) for m in meta if getattr(m, name, None) is not None), None)
        if bound is None:
            self.unbounded.append(path)
            return 1
        return bound

    def _json(self, path: str, owner: tuple[str, str] | None, *, as_list: bool = False) -> Any:
        """Plain JSON a step reported: as large as what reaches the operator allows."""
        size = self.byte_bounds.get(owner, TERMINATION_MESSAGE_BYTES)
        return ["x" * (size - 4)] if as_list else {"k": "x" * (size - 10)}

    def _unique(self, length: int) -> str:
        self._names += 1
        n, suffix = self._names, ""
        while n:
            n, digit = divmod(n, 26)
            suffix = string.ascii_lowercase[digit] + suffix
        return ("x" * length)[: max(0, length - len(suffix))] + suffix[-length:]


def _constraints(extra: tuple) -> list:
    out: list = []
    for item in extra:
        out += item.metadata if isinstance(item, FieldInfo) else [item]
    return out


def json_bytes(status: BaseModel) -> int:
    return len(json.dumps({"status": to_manifest(status)}, separators=(",", ":")))


def worst_case_size(kind: str, model: type[BaseModel], *, operator_facts: bool) -> tuple[int, int, list[str]]:
    """Bytes of `kind`'s worst-case status as written (compact JSON) and before the planner bounds it; the
    fields without a bound."""
    builder = WorstCase(byte_bounds=BYTE_LIMITS, operator_facts=operator_facts)
    status = model.model_validate(builder.model(model, f"{kind}.status"))
    return json_bytes(bound_for_writing(kind, status)), json_bytes(status), builder.unbounded


def test_largest_status_the_operator_writes_fits_in_256_kib(bench_results):
    written, raw, by_model, unbounded = {}, {}, {}, []
    for kind, model in status_models().items():
        written[kind], raw[kind], missing = worst_case_size(kind, model, operator_facts=True)
        by_model[kind] = worst_case_size(kind, model, operator_facts=False)[0]
        unbounded += missing
    largest = max(written, key=written.get)
    figure = bench_results.record(Figure(
        key="largest-object", value=None if unbounded else written[largest] / 1024, unit="KiB",
        note=(f"{'unbounded fields: ' + ', '.join(unbounded) + '; ' if unbounded else ''}worst-case status of "
              f"each kind from the models' max_length/le bounds, reported JSON at its declared byte limit, then "
              f"bounded as the planner does before writing (largest: {largest})"),
        scale=1,
        details={**{f"{kind} status KiB": size / 1024 for kind, size in written.items()},
                 **{f"{kind} status before bounding KiB": size / 1024 for kind, size in raw.items()},
                 **{f"{kind} status, model bounds only (16 conditions, asset ≠ name) KiB": size / 1024
                    for kind, size in by_model.items()}}))
    assert figure.goal_met, figure.failed_checks() + unbounded
