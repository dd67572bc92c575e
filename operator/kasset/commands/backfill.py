"""`kasset backfill JOB --from D --to D`: create a Backfill of a Job over a range (or list) of partitions; when it
exists already, re-run its failed partitions (raise `spec.rerunFailed` by one); with `--wait`, follow it to the
end with a progress bar fed by a watch on the Backfill.

The Backfill is named `<job>-<from>-<to>` (`<job>-keys-<hash>` for --partition keys) as a DNS label, so the
same command names the same Backfill. The cluster is $KUBECONFIG's, else the local cluster's (`make
cluster-up`), else ~/.kube/config; the namespace is -n, else the kubeconfig context's, else `default`.

Exit codes: 0 every partition succeeded (without --wait: the Backfill was created or updated); 1 some
partitions failed, or --timeout passed first; 2 usage or API errors (e.g. the Job does not exist).

Does not: decide anything about partitions (the operator resolves and runs them).
"""

from __future__ import annotations

import os
import queue
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import click

from kasset.api.base import API_VERSION, GROUP, VERSION
from kasset.api.contract import COMPLETE
from kasset.k8s import ApiError, Conflict, Informer, Kube, NotFound, Resource, connect
from kasset.planning.names import make_dns_label, short_hash

CONFLICT_RETRIES = 5


class CommandError(click.ClickException):
    """A problem the user can act on (usage or API): exit code 2, the message says what is wrong."""

    exit_code = 2


# -- the Backfill object -------------------------------------------------------------------------------------

def backfill_name(job: str, *, from_: str | None = None, to: str | None = None, keys: tuple[str, ...] = ()) -> str:
    """The deterministic name of a Backfill of `job`: `<job>-<from>-<to>`, or `<job>-keys-<hash of the sorted
    keys>`, a DNS label."""
    if keys:
        return make_dns_label(f"{job}-keys-{short_hash(','.join(sorted(keys)))}")
    return make_dns_label(f"{job}-{from_}-{to}".lower().replace(":", "-"))


def build_backfill(name: str, job: str, *, from_: str | None, to: str | None, keys: tuple[str, ...],
                   max_concurrent: int | None) -> dict[str, Any]:
    partitions: dict[str, Any] = {"keys": sorted(keys)} if keys else {"from": from_, "to": to}
    spec: dict[str, Any] = {"jobRef": {"name": job}, "partitions": partitions}
    if max_concurrent is not None:
        spec["maxConcurrentRuns"] = max_concurrent
    return {"apiVersion": API_VERSION, "kind": "Backfill", "metadata": {"name": name}, "spec": spec}


def submit(kube: Kube, namespace: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create the Backfill, or raise the rerunFailed of the existing one of that name (which must cover the
    same Job and partitions). (the object as written, created?)"""
    name, spec = body["metadata"]["name"], body["spec"]
    created, ok = kube.create("backfills", namespace, body)
    if ok:
        return created, True
    for _attempt in range(CONFLICT_RETRIES):
        current = kube.get("backfills", namespace, name)
        held = current.get("spec") or {}
        if (held.get("jobRef"), held.get("partitions")) != (spec["jobRef"], spec["partitions"]):
            raise CommandError(f"Backfill {name} exists in namespace {namespace} with another Job or other "
                               "partitions: choose another --name")
        patch: dict[str, Any] = {"metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                                 "spec": {"rerunFailed": held.get("rerunFailed", 0) + 1}}
        if "maxConcurrentRuns" in spec:
            patch["spec"]["maxConcurrentRuns"] = spec["maxConcurrentRuns"]
        try:
            return kube.patch("backfills", namespace, name, patch), False
        except Conflict:
            continue
    raise CommandError(f"Backfill {name} kept changing while it was updated; try again")


# -- following it ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What the Backfill's status says at the end (or when waiting stopped)."""

    complete: str | None
    reason: str
    message: str
    status: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return self.complete == "True"


def outcome_of(obj: dict[str, Any], generation: int) -> Outcome | None:
    """The Backfill's outcome once Complete is True or False for `generation` (or later), else None."""
    status = obj.get("status") or {}
    condition = next((c for c in status.get("conditions") or [] if c.get("type") == COMPLETE), None)
    if condition is None or condition.get("status") not in ("True", "False"):
        return None
    if (status.get("observedGeneration") or 0) < generation:
        return None
    return Outcome(condition["status"], condition.get("reason", ""), condition.get("message", ""), status)


def follow(kube: Kube, namespace: str, name: str, *, generation: int, timeout: float | None) -> Outcome | None:
    """Watch Backfill `name` until it is complete for `generation`, showing finished/requested partitions as a
    progress bar; None when `timeout` seconds pass first."""
    events: queue.Queue[dict] = queue.Queue()

    def on_event(kind: str, obj: dict) -> None:
        if obj["metadata"]["name"] == name and kind != "DELETED":
            events.put(obj)

    informer = Informer(kube.api, Resource(GROUP, VERSION, "backfills"), on_event, namespace=namespace)
    deadline = None if timeout is None else time.monotonic() + timeout
    informer.start()
    bar = None
    with ExitStack() as stack:
        stack.callback(informer.stop)
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            try:
                obj = events.get(timeout=remaining)
            except queue.Empty:
                return None
            status = obj.get("status") or {}
            if (status.get("observedGeneration") or 0) >= generation and status.get("requested"):
                if bar is None:
                    bar = stack.enter_context(click.progressbar(
                        length=status["requested"], label=f"Backfill {name}", show_pos=True,
                        file=click.get_text_stream("stderr")))
                finished = status.get("succeeded", 0) + status.get("failed", 0)
                if finished > bar.pos:
                    bar.update(finished - bar.pos)
            found = outcome_of(obj, generation)
            if found is not None:
                return found


def summarize(name: str, outcome: Outcome) -> str:
    status = outcome.status
    line = f"Backfill {name}: {status.get('succeeded', 0)} of {status.get('requested', 0)} partitions succeeded"
    ranges = status.get("failedPartitions") or []
    if status.get("failed"):
        named = ", ".join(r["start"] if r["start"] == r["end"] else f"{r['start']}...{r['end']}" for r in ranges)
        line += f", {status['failed']} failed ({named}); run the same command again to re-run them"
    elif not outcome.succeeded:
        line += f"; {outcome.reason}: {outcome.message}"
    return line


# -- the command -------------------------------------------------------------------------------------------------

def find_kubeconfig() -> str | None:
    """$KUBECONFIG, else None: the client's own defaults (~/.kube/config, then the in-cluster account)."""
    return os.environ.get("KUBECONFIG") or None


def context_namespace(kubeconfig: str | None) -> str:
    """The namespace of the kubeconfig's current context, else `default`."""
    from kubernetes import config

    try:
        _contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (config.ConfigException, OSError):
        return "default"
    return (current or {}).get("context", {}).get("namespace") or "default"


def check_partitions(from_: str | None, to: str | None, keys: tuple[str, ...]) -> None:
    if keys and (from_ or to):
        raise click.UsageError("give either --from and --to, or --partition keys")
    if not keys and not (from_ and to):
        raise click.UsageError("--from and --to are required (or --partition keys)")


@click.command()
@click.argument("job")
@click.option("--from", "from_", metavar="DATE", help="First window start included (2021-04-01 or 2021-04-01T06:00).")
@click.option("--to", metavar="DATE", help="First window start excluded: the range is [from, to).")
@click.option("--partition", "keys", metavar="KEY", multiple=True, help="A partition key (repeat; instead of a range).")
@click.option("-n", "--namespace", help="Namespace of the Job (default: the kubeconfig context's).")
@click.option("--max-concurrent", type=click.IntRange(1, 1000), help="Most Runs at once (default 4).")
@click.option("--name", help="Name of the Backfill (default: <job>-<from>-<to>).")
@click.option("--wait", is_flag=True, help="Follow the Backfill to the end; the exit code is its outcome.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="With --wait: give up after this many seconds (exit code 1).")
def backfill(job: str, from_: str | None, to: str | None, keys: tuple[str, ...], namespace: str | None,
             max_concurrent: int | None, name: str | None, wait: bool, timeout: float | None) -> int:
    """Run JOB over the partitions from --from to --to (or --partition keys) as a Backfill; run it again to
    re-run the partitions that failed."""
    check_partitions(from_, to, keys)
    kubeconfig = find_kubeconfig()
    namespace = namespace or context_namespace(kubeconfig)
    name = name or backfill_name(job, from_=from_, to=to, keys=keys)
    try:
        kube = Kube(_connect(kubeconfig))
        try:
            kube.get("jobs", namespace, job)
        except NotFound:
            raise CommandError(f"Job {job} not found in namespace {namespace} (kubectl get jobs.kasset.dev "
                               f"-n {namespace})") from None
        body = build_backfill(name, job, from_=from_, to=to, keys=keys, max_concurrent=max_concurrent)
        written, created = submit(kube, namespace, body)
        generation = written["metadata"].get("generation") or 1
        if created:
            click.echo(f"Created Backfill {namespace}/{name}")
        else:
            click.echo(f"Backfill {namespace}/{name} exists: re-running its failed partitions "
                       f"(rerunFailed {written['spec'].get('rerunFailed')})")
        if not wait:
            return 0
        outcome = follow(kube, namespace, name, generation=generation, timeout=timeout)
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    if outcome is None:
        click.echo(f"Backfill {name} did not finish within {timeout:g}s", err=True)
        return 1
    click.echo(summarize(name, outcome))
    if outcome.reason == "InvalidSpec":
        raise CommandError(f"Backfill {name} is invalid: {outcome.message}")
    return 0 if outcome.succeeded else 1


def _connect(kubeconfig: str | None):
    from kubernetes import config

    try:
        return connect(kubeconfig)
    except config.ConfigException as exc:
        raise CommandError(f"no cluster to talk to (set KUBECONFIG, or `make cluster-up`): {exc}") from None
