"""Count API writes from the API server's own request metrics (`apiserver_request_total` on `/metrics`).

The counter has one series per verb, group, resource, subresource and response code (plus scope, version,
component, dry_run). A bench scrapes it before and after its load; the difference is every request the API
server served in between, from every client. `is_operator_write` keeps the writes that, during a Kasset
bench, only the operator and the test itself make:

- verb POST, PUT, PATCH, APPLY (server-side apply), DELETE or DELETECOLLECTION — the writes;
- group `kasset.dev`, any resource and subresource: only the test (creating its Runs, Jobs, Assets) and the
  operator (status, kopf's annotations, pruning) write Kasset objects;
- group `batch`, resource `jobs`, subresource "": the operator creates step Jobs (and would delete them);
  the Job controller writes only `jobs/status`, and the garbage collector touches Jobs only when their
  owner goes away, which no bench does while it counts;
- group "" (core/v1), resource `events`: the operator records its Events there. The scheduler uses
  `events.k8s.io`, but the Job controller records with client-go's legacy recorder, i.e. also core/v1
  Events (`SuccessfulCreate` per pod, `Completed` per Job). Those are not the operator's: the bench
  measures them per batch Job in its direct-Jobs baseline (the same kwok pods, no operator) and subtracts
  them.

What the test itself writes in the window (its `kasset.dev` creates) is subtracted by the caller, who knows
how many objects it created. Concurrent load from other tests would be counted too; benches run alone (they
are not run in parallel, and the operators of other tiers watch other namespaces).

Does not: look at reads (GET, LIST, WATCH), or attribute requests to a client (the metric has no user label).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"})
METRIC = "apiserver_request_total"


@dataclass(frozen=True, order=True)
class Request:
    verb: str
    group: str
    resource: str
    subresource: str
    code: str

    def __str__(self) -> str:
        group = self.group or "core"
        sub = f"/{self.subresource}" if self.subresource else ""
        return f"{self.verb} {group} {self.resource}{sub} {self.code}"


def scrape(api: client.ApiClient) -> Counter[Request]:
    """The API server's request counter now, one entry per (verb, group, resource, subresource, code)."""
    method, url, headers, body, _ = api.param_serialize(
        "GET", "/metrics", header_params={"Accept": "text/plain"}, auth_settings=["BearerToken"])
    response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=30)
    response.read()
    if response.status != 200:
        raise AssertionError(f"GET /metrics: {response.status} {response.data[:200]!r}")
    counts: Counter[Request] = Counter()
    for family in text_string_to_metric_families(response.data.decode()):
        if family.name != METRIC.removesuffix("_total"):
            continue
        for sample in family.samples:
            if sample.name != METRIC:
                continue
            labels = sample.labels
            key = Request(labels.get("verb", ""), labels.get("group", ""), labels.get("resource", ""),
                          labels.get("subresource", ""), labels.get("code", ""))
            counts[key] += int(sample.value)
    return counts


def difference(after: Counter[Request], before: Counter[Request]) -> Counter[Request]:
    """Requests served between two scrapes (a counter that went down — a restarted server — counts from 0)."""
    return Counter({key: n - before.get(key, 0) if n >= before.get(key, 0) else n for key, n in after.items()
                    if n != before.get(key, 0)})


def is_operator_write(request: Request) -> bool:
    if request.verb not in WRITE_VERBS:
        return False
    if request.group == "kasset.dev":
        return True
    if request.group == "batch" and request.resource == "jobs" and request.subresource == "":
        return True
    return request.group == "" and request.resource == "events"


def operator_writes(delta: Counter[Request]) -> Counter[Request]:
    """The writes of `delta` that the filters above attribute to the operator (and the test)."""
    return Counter({key: n for key, n in delta.items() if is_operator_write(key)})


def core_event_writes(delta: Counter[Request]) -> int:
    return sum(n for key, n in delta.items()
               if key.verb in WRITE_VERBS and key.group == "" and key.resource == "events")


def breakdown(counts: Counter[Request]) -> dict[str, int]:
    """`"VERB group resource[/sub] code": n`, for a report."""
    return {str(key): n for key, n in sorted(counts.items())}


def wait_until_quiet(api: client.ApiClient, *, quiet_seconds: float = 3.0, timeout: float = 60.0,
                     interval: float = 1.0) -> Counter[Request]:
    """Scrape until the operator's write count has not moved for `quiet_seconds` (bounded); the last scrape.

    Trailing writes (a last status update, kopf's annotations) land after the condition the bench waited
    for; counting stops when they do.
    """
    deadline = time.monotonic() + timeout
    last = scrape(api)
    last_total, still_since = sum(operator_writes(last).values()), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = scrape(api)
        total = sum(operator_writes(now).values())
        if total != last_total:
            last_total, still_since = total, time.monotonic()
        elif time.monotonic() - still_since >= quiet_seconds:
            return now
        last = now
    return last
