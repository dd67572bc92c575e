"""The step contract, from inside a step container: read the context, report the result (DESIGN §3).

Standard library only: steps copy or install this one module without kopf, pydantic or the Kubernetes client.

    from kasset import sdk
    ctx = sdk.context()
    path = ctx.output_path()                 # file:// output location as a local path
    upstream = ctx.input_path("raw")         # where upstream asset `raw` wrote
    sdk.report(metadata={"num_records": 12}, data_version="v3")
    sdk.report_check(passed=False, message="3 rows without id", metadata={"bad_rows": 3})   # in a check

Environment (set by the operator; optional ones are absent when they do not apply):

    KASSET_NAMESPACE, KASSET_RUN, KASSET_STEP   namespace, Run name, step name
    KASSET_ASSET          asset materialized by the step (asset steps only)
    KASSET_PARTITION      partition key (partitioned runs only; for a range Run, its first key)
    KASSET_PARTITION_RANGE_START, KASSET_PARTITION_RANGE_END
                          first and last partition key of a range Run (backfillPolicy SingleRun/MultiRun N)
    KASSET_PARTITION_WINDOW_START, KASSET_PARTITION_WINDOW_END
                          time-window partitions: the window's start and end, ISO 8601 with offset
                          (for a range: the first window's start and the last window's end)
    KASSET_CODE_VERSION   the asset's codeVersion, if any
    KASSET_PARAMS         the Run params, a JSON object
    KASSET_OUTPUT_URI     where the step writes
    KASSET_INPUTS         {dependency name: URI} as a JSON object; also KASSET_INPUT_<NAME>_URI each. When the
                          step reads several partitions of a dependency, its URI keeps `{partition}` and ...
    KASSET_INPUT_PARTITIONS  ... {dependency name: {partition key: URI}} lists them (up to 1000 per dependency)
    KASSET_ITEMS          fan-out steps: the source step's items, a JSON array ...
    KASSET_ITEMS_URI      ... or the URI of the source's result file holding them under "items"
    JOB_COMPLETION_INDEX  fan-out steps: this pod's item index (set by the Job controller)

The result goes to the termination message (KASSET_TERMINATION_LOG, default /dev/termination-log) as JSON:
{"dataVersion", "metadata", "items", "itemCount", "partitionKeys"}. A result over MESSAGE_LIMIT bytes is written to
`<output>/.kasset-result[-<index>].json` (file:// outputs only) and the message carries
{"resultRef", "dataVersion", "itemCount"} plus the metadata when it still fits.

Does not: move data, or talk to Kubernetes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

ENV_NAMESPACE = "KASSET_NAMESPACE"
ENV_RUN = "KASSET_RUN"
ENV_STEP = "KASSET_STEP"
ENV_ASSET = "KASSET_ASSET"
ENV_PARTITION = "KASSET_PARTITION"
ENV_PARTITION_RANGE_START = "KASSET_PARTITION_RANGE_START"
ENV_PARTITION_RANGE_END = "KASSET_PARTITION_RANGE_END"
ENV_PARTITION_WINDOW_START = "KASSET_PARTITION_WINDOW_START"
ENV_PARTITION_WINDOW_END = "KASSET_PARTITION_WINDOW_END"
ENV_INPUT_PARTITIONS = "KASSET_INPUT_PARTITIONS"
ENV_CODE_VERSION = "KASSET_CODE_VERSION"
ENV_PARAMS = "KASSET_PARAMS"
ENV_OUTPUT_URI = "KASSET_OUTPUT_URI"
ENV_INPUTS = "KASSET_INPUTS"
ENV_ITEMS = "KASSET_ITEMS"
ENV_ITEMS_URI = "KASSET_ITEMS_URI"
ENV_TERMINATION_LOG = "KASSET_TERMINATION_LOG"
ENV_COMPLETION_INDEX = "JOB_COMPLETION_INDEX"
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
#: Largest message written inline; the kubelet keeps 4096 bytes.
MESSAGE_LIMIT = 4000
RESULT_FILE = ".kasset-result"


def input_env_name(name: str) -> str:
    """KASSET_INPUT_<NAME>_URI for dependency `name` (upper case, other characters as '_')."""
    return "KASSET_INPUT_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_URI"


def local_path(uri: str) -> str:
    """The local path of a file:// URI; ValueError for other schemes (read those with their own client)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"{uri} is not a file:// URI")
    return unquote(parsed.path)


@dataclass(frozen=True)
class Context:
    """What the step was asked to do."""

    namespace: str | None
    run: str | None
    step: str | None
    asset: str | None
    partition: str | None
    code_version: str | None
    params: dict[str, Any]
    output_uri: str | None
    inputs: dict[str, str]
    index: int | None
    items_json: str | None = field(default=None, repr=False)
    items_uri: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    input_partitions: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def items(self) -> list[Any] | None:
        """All items of a fan-out step, or None when the step does not fan out."""
        if self.items_json is not None:
            return json.loads(self.items_json)
        if self.items_uri is not None:
            with open(local_path(self.items_uri), encoding="utf-8") as handle:
                return json.load(handle).get("items")
        return None

    @property
    def item(self) -> Any:
        """This pod's item (items[JOB_COMPLETION_INDEX]); LookupError outside a fan-out."""
        items = self.items
        if items is None or self.index is None:
            raise LookupError("not a fan-out step: no items or no JOB_COMPLETION_INDEX")
        return items[self.index]

    def output_path(self) -> str:
        """The output location as a local path (file:// outputs)."""
        if self.output_uri is None:
            raise LookupError(f"{ENV_OUTPUT_URI} is not set")
        return local_path(self.output_uri)

    def input_path(self, name: str) -> str:
        """Where dependency `name` wrote, as a local path (file:// inputs)."""
        return local_path(self.inputs[name])


def context(environ: Mapping[str, str] | None = None) -> Context:
    """Read the step's context from the environment."""
    env = os.environ if environ is None else environ
    index = env.get(ENV_COMPLETION_INDEX)
    return Context(
        namespace=env.get(ENV_NAMESPACE),
        run=env.get(ENV_RUN),
        step=env.get(ENV_STEP),
        asset=env.get(ENV_ASSET),
        partition=env.get(ENV_PARTITION),
        code_version=env.get(ENV_CODE_VERSION),
        params=json.loads(env.get(ENV_PARAMS) or "{}"),
        output_uri=env.get(ENV_OUTPUT_URI),
        inputs=json.loads(env.get(ENV_INPUTS) or "{}"),
        index=int(index) if index not in (None, "") else None,
        items_json=env.get(ENV_ITEMS),
        items_uri=env.get(ENV_ITEMS_URI),
        partition_range_start=env.get(ENV_PARTITION_RANGE_START),
        partition_range_end=env.get(ENV_PARTITION_RANGE_END),
        window_start=env.get(ENV_PARTITION_WINDOW_START),
        window_end=env.get(ENV_PARTITION_WINDOW_END),
        input_partitions=json.loads(env.get(ENV_INPUT_PARTITIONS) or "{}"),
    )


def report(
    *,
    metadata: Mapping[str, Any] | None = None,
    data_version: str | None = None,
    items: list[Any] | None = None,
    item_count: int | None = None,
    partition_keys: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Write the result to the termination message and return what was written.

    `items` makes downstream fan-out steps run once per item; `item_count` alone reports a count without items
    (fan-out pods then only get their index). `partition_keys` adds keys to the dynamic partition dimensions
    that name this asset in `addedBy`. Values must be JSON-serializable.
    """
    env = os.environ if environ is None else environ
    result: dict[str, Any] = {}
    if data_version is not None:
        result["dataVersion"] = str(data_version)
    if metadata:
        result["metadata"] = dict(metadata)
    if items is not None:
        result["items"] = list(items)
        result["itemCount"] = len(items)
    elif item_count is not None:
        result["itemCount"] = int(item_count)
    if partition_keys is not None:
        result["partitionKeys"] = [str(key) for key in partition_keys]
    message = _encode(result)
    if len(message.encode()) > MESSAGE_LIMIT:
        message = _encode(_store_result(result, env))
    with open(env.get(ENV_TERMINATION_LOG, DEFAULT_TERMINATION_LOG), "w", encoding="utf-8") as handle:
        handle.write(message)
    return json.loads(message)


def report_check(
    passed: bool,
    *,
    message: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """For a check step: write whether the asset's data passed, why, and plain-JSON metadata to the
    termination message (a failing container also counts as a failed check). Returns what was written."""
    env = os.environ if environ is None else environ
    result: dict[str, Any] = {"passed": bool(passed)}
    if message is not None:
        result["message"] = str(message)[:1024]
    if metadata:
        result["metadata"] = dict(metadata)
    text = _encode(result)
    if len(text.encode()) > MESSAGE_LIMIT:
        result.pop("metadata", None)
        text = _encode(result)
    with open(env.get(ENV_TERMINATION_LOG, DEFAULT_TERMINATION_LOG), "w", encoding="utf-8") as handle:
        handle.write(text)
    return json.loads(text)


def _encode(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _store_result(result: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """Write the whole result next to the output and return the pointer message."""
    output = env.get(ENV_OUTPUT_URI)
    if not output or urlparse(output).scheme != "file":
        raise ValueError(
            f"the result is larger than {MESSAGE_LIMIT} bytes and {ENV_OUTPUT_URI} is not a file:// URI; "
            "write large data to storage and report less"
        )
    index = env.get(ENV_COMPLETION_INDEX)
    name = f"{RESULT_FILE}-{index}.json" if index else f"{RESULT_FILE}.json"
    directory = local_path(output)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_encode(result))
    pointer = {"resultRef": output.rstrip("/") + "/" + name}
    pointer |= {key: result[key] for key in ("dataVersion", "itemCount") if key in result}
    if "metadata" in result and len(_encode(pointer | {"metadata": result["metadata"]}).encode()) <= MESSAGE_LIMIT:
        pointer["metadata"] = result["metadata"]
    return pointer
