"""How fast automation starts Runs: a Schedule's tick, an Asset's materialization, webhook POSTs at 50/s (open loop,
once over keep-alive connections and once with a new connection per POST) and SQS messages, each → the Run it
creates; and a scheduled Run → its first step Job.

Steps are kwok containers (pods end at once: `kwok-delay 0s`). Times are the test's own clock (monotonic) where
its watches see the objects (Kubernetes timestamps have one-second resolution). A tick is a wall-clock instant
(the Run's annotation `kasset.dev/schedule-tick`), compared with the watch's time turned into wall-clock time.
The SQS source is the repository's program (`sources/sqs`), run on the host with the boto3 of `.venv-aws` as in
the integration tier, posting to the kwok operator's real webhook.

Does not: hold these figures to goals (none is set in `GOALS`); it records them.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from support.awsservers import aws_python, clean_aws_env, start_sqs_source, stop_sqs_source
from support.benchload import FirstSeen, bench_size, has_condition, run_finished
from support.benchresults import Figure, percentile
from support.clusterinfo import wait_for
from support.kasset import GROUP, VERSION, Kasset, asset, job, kwok_container, run, schedule, sensor
from support.webhook import TOKEN, token_secret
from support.webhookload import Target, achieved_rate, count_answers, post_at_rate

pytestmark = [pytest.mark.bench, pytest.mark.usefixtures("kwok_operator"), pytest.mark.timeout(900)]
EVERY_SECOND = "* * * * * *"
WEBHOOK_RATE = 50.0
#: Sender threads: the schedule holds while answers take under WEBHOOK_WORKERS / WEBHOOK_RATE seconds.
WEBHOOK_WORKERS = 128
SQS_WAIT_SECONDS = 20


def one_step_job(name: str, **spec) -> dict:
    return job(name, steps=[{"name": "only", "container": kwok_container(delay="0s")}], **spec)


def watch_runs(kasset: Kasset, *, predicate=lambda _: True, **selectors) -> FirstSeen:
    return FirstSeen(kasset.custom.list_namespaced_custom_object, GROUP, VERSION, kasset.namespace, "runs",
                     predicate=predicate, **selectors)


def latency_figure(key: str, benchmark: str, samples: list[float], *, note: str, scale: float,
                   details: dict | None = None) -> Figure:
    return Figure(key=key, benchmark=benchmark, value=percentile(samples, 0.95), unit="s (p95)", samples=samples,
                  note=note, scale=scale, details=details or {})


def wait_ready(kasset: Kasset, plural: str, name: str) -> dict:
    """The object's status once its Ready condition is True (the operator has it in its cache)."""
    return wait_for(lambda: has_condition(obj := kasset.get(plural, name), "Ready") and obj["status"],
                    timeout=60, what=f"{plural} {name} Ready")


# -- Schedule tick → Run, Run → first step Job -------------------------------------------------------------

def tick_of(run_obj: dict) -> float:
    """The tick the Run was created for (annotation, RFC 3339 UTC), in Unix seconds."""
    return datetime.fromisoformat(run_obj["metadata"]["annotations"]["kasset.dev/schedule-tick"]).timestamp()


def first_job_times(jobs: FirstSeen) -> dict[str, float]:
    """When the watch first saw a step Job of each Run (label kasset.dev/run)."""
    first: dict[str, float] = {}
    for name, obj in dict(jobs.objects).items():
        owner = obj["metadata"]["labels"].get("kasset.dev/run")
        first[owner] = min(first.get(owner, jobs.times[name]), jobs.times[name])
    return first


def test_a_per_second_schedule_creates_each_ticks_run_and_its_first_step_job(cluster, bench_namespace,
                                                                              bench_results):
    ticks = bench_size("schedule_ticks", 20, minimum=3)
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(one_step_job("tick"))
    wall_minus_monotonic = time.time() - time.monotonic()
    with watch_runs(kasset, label_selector="kasset.dev/schedule=every-second") as runs, \
            FirstSeen(cluster.batch.list_namespaced_job, bench_namespace, predicate=lambda _: True) as jobs:
        kasset.create(schedule("every-second", cron=EVERY_SECOND, jobRef={"name": "tick"}))
        assert runs.wait(ticks, timeout=ticks + 60), f"only {len(runs.times)} of {ticks} ticks' Runs seen"
        kasset.custom.patch_namespaced_custom_object(GROUP, VERSION, bench_namespace, "schedules", "every-second",
                                                     {"spec": {"suspend": True}})
        sampled = sorted(dict(runs.objects).values(), key=tick_of)[:ticks]
        names = [r["metadata"]["name"] for r in sampled]
        first_job = wait_for(lambda: (seen := first_job_times(jobs)).keys() >= set(names) and seen, timeout=60,
                             what="a step Job of every sampled Run")
    lags = [runs.times[name] + wall_minus_monotonic - tick_of(r) for name, r in zip(names, sampled)]
    launches = [first_job[name] - runs.times[name] for name in names]
    assert len({tick_of(r) for r in sampled}) == ticks, "one Run per tick"
    scale = ticks / 20
    bench_results.record(latency_figure(
        "schedule-tick-run", "Per-second Schedule: tick → its Run created", lags, scale=scale,
        note=(f"{ticks} ticks of '{EVERY_SECOND}' (a one-step kwok Job); each sample: the Run first seen by the "
              "test's watch (as wall-clock time) minus the tick in its kasset.dev/schedule-tick annotation"),
        details={"ticks": ticks}))
    bench_results.record(latency_figure(
        "run-first-job-scheduled", "Scheduled Run created → its first step Job created", launches, scale=scale,
        note=f"the same {ticks} Runs; each sample: the step Job first seen minus the Run first seen (test's watches)",
        details={"runs": ticks}))


# -- Asset materialization → Sensor Run --------------------------------------------------------------------

class Materializations:
    """A FirstSeen predicate on Assets that never holds but notes when the watch first showed each Run's
    materialization (`status.lastMaterialization.run`): FirstSeen itself times each Asset only once."""

    def __init__(self):
        self.times: dict[str, float] = {}

    def __call__(self, asset_obj: dict) -> bool:
        by = ((asset_obj.get("status") or {}).get("lastMaterialization") or {}).get("run")
        if by is not None:
            self.times.setdefault(by, time.monotonic())
        return False


def test_each_materialization_of_a_watched_asset_creates_the_sensor_run(cluster, bench_namespace, bench_results):
    count = bench_size("materializations", 20, minimum=3)
    kasset = Kasset(cluster, bench_namespace)
    kasset.create(asset("src", container=kwok_container(delay="0s")), one_step_job("follow"),
                  sensor("on-src", assetMaterialized={"assets": ["src"]}, jobRef={"name": "follow"}))
    wait_ready(kasset, "sensors", "on-src")
    materialized = Materializations()
    with FirstSeen(kasset.custom.list_namespaced_custom_object, GROUP, VERSION, bench_namespace, "assets",
                   predicate=materialized), \
            watch_runs(kasset, label_selector="kasset.dev/sensor=on-src") as triggered, \
            watch_runs(kasset, predicate=run_finished) as finished:
        for i in range(count):  # one after the other: each Run materializes src, then the Sensor's Run follows
            upstream = f"src-{i:03d}"
            kasset.create(run(upstream, assets=["src"]))
            wait_for(lambda: upstream in materialized.times and upstream in finished.times
                     and len(triggered.times) > i, timeout=60, interval=0.02,
                     what=f"Run {upstream} finished, its materialization and the Sensor's Run seen")
        upstreams = {name: dict(finished.objects)[name] for name in (f"src-{i:03d}" for i in range(count))}
        sensor_run = {r["spec"]["runKey"].rsplit("/", 1)[-1]: name for name, r in dict(triggered.objects).items()}
    assert all(has_condition(r, "Succeeded") for r in upstreams.values()), "every upstream Run Succeeded"
    assert sensor_run.keys() == upstreams.keys(), "one Sensor Run per materialization"
    samples = [triggered.times[sensor_run[u]] - materialized.times[u] for u in upstreams]
    after_succeeded = [triggered.times[sensor_run[u]] - finished.times[u] for u in upstreams]
    bench_results.record(latency_figure(
        "materialization-sensor-run", "Asset materialized → the assetMaterialized Sensor's Run created", samples,
        scale=count / 20,
        note=(f"{count} Runs of one kwok Asset, one after the other; each sample: the Sensor's Run first seen minus "
              "the Asset's status.lastMaterialization naming that Run first seen (test's watches)"),
        details={"materializations": count,
                 "upstream Run Succeeded seen → Sensor Run seen, median (s)": percentile(after_succeeded, 0.5),
                 "upstream Run Succeeded seen → Sensor Run seen, max (s)": max(after_succeeded)}))


# -- webhook POSTs at 50/s → Runs ---------------------------------------------------------------------------

def webhook_sensor(cluster, kasset: Kasset, name: str, *, history: int) -> str:
    """A webhook Sensor `name` starting a one-step kwok Job that keeps `history` Runs; its endpoint path."""
    token_secret(cluster, kasset.namespace)
    kasset.create(one_step_job(f"{name}-job", successfulRunsHistoryLimit=history),
                  sensor(name, webhook={"tokenSecretRef": {"name": "hook-token"}}, jobRef={"name": f"{name}-job"}))
    return wait_ready(kasset, "sensors", name)["endpoint"]


def event_id_of(run_obj: dict) -> str:
    """The webhook event a Sensor's Run was created for (the end of its runKey)."""
    return run_obj["spec"]["runKey"].rsplit("/webhook/", 1)[-1]


@pytest.mark.parametrize("keep_alive", [True, False], ids=["keep-alive", "new-connections"])
def test_webhook_events_at_50_per_second_each_become_exactly_one_run(cluster, kwok_operator, bench_namespace,
                                                                      bench_results, keep_alive):
    count = bench_size("webhook_events", 500, minimum=10)
    kasset = Kasset(cluster, bench_namespace)
    path = webhook_sensor(cluster, kasset, "hook", history=count + 10)
    target = Target(port=int(kwok_operator.env["KASSET_WEBHOOK_PORT"]), path=path, token=TOKEN,
                    keep_alive=keep_alive)
    selector = "kasset.dev/sensor=hook"
    with watch_runs(kasset, label_selector=selector) as created, \
            watch_runs(kasset, label_selector=selector, predicate=run_finished) as finished:
        deliveries = post_at_rate(target, count=count, rate=WEBHOOK_RATE, workers=WEBHOOK_WORKERS, id_prefix="hook")
        all_seen = created.wait(count, timeout=120)
        all_finished = finished.wait(count, timeout=300)
        runs = dict(created.objects)
    run_of = {event_id_of(r): name for name, r in runs.items()}
    samples = [created.times[run_of[d.event_id]] - d.sent for d in deliveries if d.event_id in run_of]
    answered = [d.accepted_at - d.sent for d in deliveries if d.accepted_at is not None]
    answers, rate = count_answers(deliveries), achieved_rate(deliveries)
    mode = ("keep-alive: one HTTP/1.1 connection per sender thread" if keep_alive
            else "a new connection per request (Connection: close)")
    connections = "keep-alive" if keep_alive else "new connections"
    bench_results.record(latency_figure(
        "webhook-50rps-run" + ("" if keep_alive else "-new-connections"),
        f"Webhook POSTs at {WEBHOOK_RATE:.0f}/s → their Runs created ({connections})",
        samples, scale=count / 500,
        note=(f"{count} events with distinct X-Event-Id, open loop (a fixed schedule of send times) from "
              f"{WEBHOOK_WORKERS} threads, {mode}; non-2xx answers retried as a source would; each sample: the Run "
              "first seen by the test's watch minus the event's first send"),
        details={"events": count, "connection mode": mode, "requested rate (req/s)": WEBHOOK_RATE,
                 "achieved rate (req/s)": round(rate, 2),
                 "max send lateness (s)": round(max(d.late for d in deliveries), 3),
                 "2xx answers": answers["2xx"], "non-2xx answers": answers["non-2xx"],
                 "connection errors": answers["no answer"],
                 "events retried": sum(len(d.answers) > 1 for d in deliveries),
                 "POST → 2xx answer, median (s)": percentile(answered, 0.5),
                 "POST → 2xx answer, p95 (s)": percentile(answered, 0.95),
                 "Runs seen": len(runs), "Runs Succeeded": len(finished.times),
                 "refusals (first 5 kinds)": sorted({e for d in deliveries for e in d.errors})[:5]}))
    assert all(d.accepted for d in deliveries), [(d.event_id, d.errors) for d in deliveries if not d.accepted][:5]
    assert all_seen, f"only {len(runs)} of {count} Runs seen within 120s"
    listed = kasset.custom.list_namespaced_custom_object(GROUP, VERSION, bench_namespace, "runs",
                                                         label_selector=selector)["items"]
    assert len(listed) == count == len(runs), (len(listed), len(runs))
    assert {event_id_of(r) for r in listed} == {d.event_id for d in deliveries}
    assert all_finished, f"only {len(finished.times)} of {count} Runs finished within 300s"


# -- SQS message → Run, through the SQS source program ------------------------------------------------------

#: A boto3 process that sends one message per stdin line ([queue URL, body]) and prints [message id, the
#: monotonic time just before SendMessage]: CLOCK_MONOTONIC is system-wide, so that is the test's own clock.
SENDER = """
import json, sys, time
import boto3
sqs = boto3.client("sqs")
for line in sys.stdin:
    url, body = json.loads(line)
    sent = time.monotonic()
    answer = sqs.send_message(QueueUrl=url, MessageBody=body)
    print(json.dumps([answer["MessageId"], sent]), flush=True)
"""


@contextmanager
def sqs_sender(aws_servers) -> Iterator:
    """send(queue_url, body) -> (message id, monotonic send time), from one long-lived process: unlike `awsctl
    send`, no interpreter start or boto3 import falls inside the measured time."""
    with subprocess.Popen([str(aws_python()), "-c", SENDER], env=clean_aws_env() | aws_servers.env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        def send(queue_url: str, body: str) -> tuple[str, float]:
            proc.stdin.write(json.dumps([queue_url, body]) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            assert line, f"the SQS sender exited {proc.poll()}"
            message_id, sent = json.loads(line)
            return message_id, sent

        try:
            yield send
        finally:
            proc.stdin.close()  # end of input: the process exits, and leaving `with` waits for it


def test_each_sqs_message_becomes_a_run_through_the_sqs_source(cluster, kwok_operator, aws_servers, bench_namespace,
                                                               bench_results):
    count = bench_size("sqs_messages", 20, minimum=3)
    kasset = Kasset(cluster, bench_namespace)
    path = webhook_sensor(cluster, kasset, "sqs", history=count + 10)
    sensor_url = f"http://127.0.0.1:{kwok_operator.env['KASSET_WEBHOOK_PORT']}{path}"
    queue_url = aws_servers.ctl("queue", f"bench-sqs-{uuid.uuid4().hex[:8]}")
    with watch_runs(kasset, label_selector="kasset.dev/sensor=sqs") as seen, sqs_sender(aws_servers) as send:
        source = start_sqs_source(aws_servers, queue_url=queue_url, sensor_url=sensor_url, token=TOKEN,
                                  wait_seconds=SQS_WAIT_SECONDS)
        try:
            sent = [send(queue_url, json.dumps({"i": 0}))]  # a warm-up: the source's first receive, not sampled
            assert seen.wait(1, timeout=60), "the warm-up message's Run not seen within 60s"
            for i in range(1, count + 1):
                sent.append(send(queue_url, json.dumps({"i": i})))
                assert seen.wait(i + 1, timeout=60), f"message {i}'s Run not seen within 60s"
        finally:
            code, log, err = stop_sqs_source(source, timeout=SQS_WAIT_SECONDS + 20)
        run_of = {event_id_of(r): name for name, r in dict(seen.objects).items()}
    samples = [seen.times[run_of[message_id]] - t for message_id, t in sent[1:]]
    bench_results.record(latency_figure(
        "sqs-message-run", "SQS message sent → its Run created (the SQS source program, long poll)", samples,
        scale=count / 20,
        note=(f"{count} messages one at a time (after one warm-up) to ElasticMQ; sources/sqs/kasset_sqs_source.py on "
              f"the host (SQS_WAIT_TIME_SECONDS {SQS_WAIT_SECONDS}) posts each to a webhook Sensor of the kwok "
              "operator; each sample: the Run first seen by the test's watch minus the moment just before "
              "SendMessage (a long-lived boto3 process)"),
        details={"messages": count, "long poll (s)": SQS_WAIT_SECONDS,
                 "connection mode": "the source's urllib: a new connection per POST"}))
    assert code == 0, f"the SQS source exited {code}: {err}"
    outcomes = [entry["outcome"] for entry in log]
    assert outcomes == ["started", *["created"] * (count + 1), "stopped"], outcomes
    assert set(run_of) == {message_id for message_id, _ in sent}
