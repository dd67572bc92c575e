"""Load for benchmarks: sizes, many creates at once, watches that timestamp, and the operator's RSS and CPU.

- `bench_size("runs", 1000)`: the full size, scaled by `KASSET_BENCH_SCALE` (default 1) or replaced by
  `KASSET_BENCH_RUNS`; benches are validated quickly at a small scale and measured at the full one.
- `create_all` creates objects from a pool of 8 threads, each with its own API client: about as fast as
  users applying manifests with `kubectl apply` from a few shells, and the same for Kasset and its baselines.
- `FirstSeen` watches a collection in a background thread and records when each object first satisfies a
  predicate (times are the test's own clock at the watch event: Kubernetes timestamps have one-second
  resolution).
- `fresh_namespace` deletes its namespace afterwards and waits until it is gone, so that one bench's
  garbage does not load the next.
- `ProcessSampler` samples a process's resident set size (VmRSS) and reads its CPU time from /proc.
- `layered_graph` / `upstream_closure_sizes`: the seeded layered Asset graph of the scale benches.

Does not: record figures (see `benchresults`) or know Kasset's API beyond object names.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from support.clusterinfo import ClusterInfo

WORKERS = 8
NAMESPACE_GONE_SECONDS = 600
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def bench_scale() -> float:
    return float(os.environ.get("KASSET_BENCH_SCALE", "1"))


def bench_size(name: str, full: int, *, minimum: int = 1) -> int:
    """`full` times the scale, at least `minimum`; `KASSET_BENCH_<NAME>` overrides it."""
    given = os.environ.get(f"KASSET_BENCH_{name.upper()}")
    if given:
        return int(given)
    return max(minimum, round(full * bench_scale()))


def has_condition(obj: dict, type_: str, statuses: tuple[str, ...] = ("True",)) -> bool:
    """Whether plain-dict `obj` has condition `type_` with one of `statuses` (as a watch or list gives it)."""
    return any(c.get("type") == type_ and c.get("status") in statuses
               for c in (obj.get("status") or {}).get("conditions") or [])


def run_finished(run: dict) -> bool:
    return has_condition(run, "Succeeded", ("True", "False"))


def job_finished(job: dict) -> bool:
    """A batch/v1 Job Complete or Failed."""
    return has_condition(job, "Complete") or has_condition(job, "Failed")


# -- namespaces ------------------------------------------------------------------------------------------

@contextmanager
def fresh_namespace(cluster: ClusterInfo, name: str, *, prefix: str) -> Iterator[str]:
    """A new namespace, deleted afterwards and waited for (bounded), so that the garbage collection of one
    bench's thousands of objects does not load the next bench."""
    namespace = cluster.create_namespace(name, prefix=prefix)
    try:
        yield namespace
    finally:
        cluster.delete_namespace(namespace)
        _wait_gone(cluster, namespace)


def _wait_gone(cluster: ClusterInfo, namespace: str) -> None:
    deadline = time.monotonic() + NAMESPACE_GONE_SECONDS
    while time.monotonic() < deadline:
        try:
            cluster.core.read_namespace(namespace)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(1)
    print(f"BENCH warning: namespace {namespace} still terminating after {NAMESPACE_GONE_SECONDS}s", flush=True)


# -- creating many objects at once ------------------------------------------------------------------------

Create = Callable[[client.ApiClient, dict], Any]


def create_all(kubeconfig: Path, objects: Sequence[dict], create: Create, *, workers: int = WORKERS) -> list[float]:
    """Create `objects` from `workers` threads; return when each create was sent (monotonic), in order."""
    local = threading.local()

    def one(obj: dict) -> float:
        if not hasattr(local, "api"):
            local.api = config.new_client_from_config(config_file=str(kubeconfig))
        sent = time.monotonic()
        create(local.api, obj)
        return sent

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-create") as pool:
        return list(pool.map(one, objects))


def custom_creator(group: str, version: str, namespace: str) -> Create:
    def create(api: client.ApiClient, obj: dict) -> None:
        plural = obj["kind"].lower() + "s"
        _drain(client.CustomObjectsApi(api).create_namespaced_custom_object(
            group, version, namespace, plural, obj, _preload_content=False))
    return create


def batch_job_creator(namespace: str) -> Create:
    def create(api: client.ApiClient, obj: dict) -> None:
        _drain(client.BatchV1Api(api).create_namespaced_job(namespace, obj, _preload_content=False))
    return create


def _drain(response: Any) -> dict:
    """Read a `_preload_content=False` response (so its connection returns to the pool) as JSON."""
    data = response.data if hasattr(response, "data") and response.data is not None else response.read()
    return json.loads(data) if data else {}


def list_raw(list_fn: Callable, *args: Any, page: int = 500, **kwargs: Any) -> tuple[list[dict], str]:
    """Every object of a collection as plain dicts, `page` at a time (limit/continue); and the list's
    resourceVersion."""
    items: list[dict] = []
    token = None
    while True:
        extra = {"_continue": token} if token else {}
        body = _drain(list_fn(*args, limit=page, _preload_content=False, **extra, **kwargs))
        items += body.get("items") or []
        token = body["metadata"].get("continue")
        if not token:
            return items, body["metadata"]["resourceVersion"]


# -- watching ---------------------------------------------------------------------------------------------

class FirstSeen:
    """Record, from a watch in a background thread, when each object first satisfies `predicate`.

    Started before the load, so no event is missed: a list gives the starting resourceVersion, the watch
    follows it, and an expired watch (410) lists again.
    """

    def __init__(self, list_fn: Callable, *args: Any, predicate: Callable[[dict], bool], **kwargs: Any):
        self.list_fn, self.args, self.kwargs, self.predicate = list_fn, args, kwargs, predicate
        self.times: dict[str, float] = {}
        self.objects: dict[str, dict] = {}
        self.created: dict[str, float] = {}
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="bench-watch", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> FirstSeen:
        self._rv = self._list()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)

    def wait(self, count: int, *, timeout: float) -> bool:
        """True once `count` objects satisfied the predicate; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.times) < count:
                if self.error is not None:
                    raise self.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 1.0))
        return True

    def _list(self) -> str:
        items, rv = list_raw(self.list_fn, *self.args, **self.kwargs)
        for obj in items:
            self._see(obj)
        return rv

    def _see(self, obj: dict) -> None:
        name = obj["metadata"]["name"]
        now = time.monotonic()
        with self._changed:
            self.created.setdefault(name, now)
            if name not in self.times and self.predicate(obj):
                self.times[name], self.objects[name] = now, obj
                self._changed.notify_all()

    def _follow(self) -> None:
        try:
            while not self._stopped.is_set():
                w = watch.Watch(return_type="object")
                try:
                    for event in w.stream(self.list_fn, *self.args, resource_version=self._rv, timeout_seconds=5,
                                          allow_watch_bookmarks=True, **self.kwargs):
                        obj = event["object"]
                        self._rv = obj["metadata"].get("resourceVersion", self._rv)
                        if event["type"] in ("ADDED", "MODIFIED"):
                            self._see(obj)
                        if self._stopped.is_set():
                            w.stop()
                except client.ApiException as exc:
                    if exc.status != 410:
                        raise
                    self._rv = self._list()
        except BaseException as exc:  # surfaced to the waiting test by `wait`
            self.error = exc


# -- the operator process ---------------------------------------------------------------------------------

def rss_mib(pid: int) -> float:
    """The resident set size of process `pid` (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` so far, in seconds (/proc/<pid>/stat utime + stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 (state) of proc(5)
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class ProcessSampler:
    """Sample the RSS of process `pid` every `interval` seconds in a background thread."""

    def __init__(self, pid: int, *, interval: float = 0.5):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)

    def __enter__(self) -> ProcessSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    @property
    def peak_mib(self) -> float:
        return max(rss for _, rss in self.samples)

    def _sample(self) -> None:
        while True:
            try:
                self.samples.append((time.monotonic(), rss_mib(self.pid)))
            except (FileNotFoundError, ProcessLookupError):
                return
            if self._stopped.wait(self.interval):
                return


# -- the layered Asset graph ------------------------------------------------------------------------------

def layered_graph(*, layers: int, width: int, deps: int, seed: int) -> dict[str, tuple[str, ...]]:
    """`layers` layers of `width` assets; each asset of a layer but the first depends on `deps` assets of the
    layer before, chosen with a fixed seed. Keys are in layer order (dependencies before dependants)."""
    rng = random.Random(seed)
    names = [[f"l{layer}-a{i:05d}" for i in range(width)] for layer in range(layers)]
    graph: dict[str, tuple[str, ...]] = {}
    for layer, members in enumerate(names):
        for name in members:
            graph[name] = tuple(sorted(rng.sample(names[layer - 1], min(deps, width)))) if layer else ()
    return graph


def upstream_closure_sizes(graph: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """How many assets each asset depends on, directly or not (itself excluded). `graph` must list
    dependencies before dependants, as `layered_graph` does."""
    index = {name: i for i, name in enumerate(graph)}
    closure: dict[str, int] = {}
    for name, deps in graph.items():
        bits = 0
        for dep in deps:
            bits |= closure[dep] | (1 << index[dep])
        closure[name] = bits
    return {name: bits.bit_count() for name, bits in closure.items()}
