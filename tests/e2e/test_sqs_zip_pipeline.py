"""Example 05 (manifests/examples/05-sqs-zip-pipeline) on the real node against the real servers: 20 queue
messages, 10 of them sent while the operator is stopped, become exactly 20 Runs of `unpack-zip` (the SQS source
pod long-polls ElasticMQ and POSTs each message to the operator), their 20 materializations exactly 20 Runs of
`process-csvs` whose `s3_key` is the materialization's metadata, and every one of the 100 daily-totals CSVs
lands in S3Proxy with the content its input implies. The queue ends empty.

The operator is this module's own (`pipe-*` namespaces): the source pod on the real node must reach its port, so
it listens on 0.0.0.0 and container Sensors are given the node IP, where the servers listen too.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from support.benchload import has_condition
from support.clusterinfo import wait_for
from support.kasset import GROUP, VERSION, Kasset
from support.operator import free_port, operator_fixture

pytestmark = [pytest.mark.cluster, pytest.mark.realnode, pytest.mark.timeout(1500)]

FOLDER = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "05-sqs-zip-pipeline"
BUCKET = "kasset-zips"  # the example's storage names it
MESSAGES = 20
PIPELINE_TIMEOUT = 900


def load_make_zip():
    spec = importlib.util.spec_from_file_location("make_zip", FOLDER / "make_zip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_zip = load_make_zip()


@pytest.fixture
def pipeline_operator(cluster, crds, real_node, aws_servers, tmp_path):
    """An operator whose port the source pod reaches at the node IP (where the servers are advertised too)."""
    port = free_port("0.0.0.0")
    env = {"KASSET_WEBHOOK_PORT": str(port), "KASSET_METRICS_BIND_ADDRESS": "0.0.0.0",
           "KASSET_SENSOR_BASE_URL": f"http://{aws_servers.sqs.host_address}:{port}"}
    yield from operator_fixture(cluster.kubeconfig, tmp_path / "operator.log", pattern="pipe-*", node_kind="real",
                                env=env)


@pytest.fixture
def pipe_namespace(cluster, request):
    name = cluster.create_namespace(request.node.name, prefix="pipe")
    yield name
    cluster.delete_namespace(name)


def runs_of(kasset: Kasset, sensor: str) -> list[dict]:
    return kasset.custom.list_namespaced_custom_object(GROUP, VERSION, kasset.namespace, "runs",
                                                       label_selector=f"kasset.dev/sensor={sensor}")["items"]


def expected_totals(batch: int, n: int) -> str:
    """What daily_totals.py must write for order file `n` of `batch`."""
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for _, day, amount in make_zip.orders(batch, n):
        totals[day][0] += 1
        totals[day][1] += float(amount)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["day", "orders", "amount"])
    for day in sorted(totals):
        writer.writerow([day, totals[day][0], f"{totals[day][1]:.2f}"])
    return out.getvalue()


def example_job(name: str) -> dict:
    docs = yaml.safe_load_all((FOLDER / "30-jobs.yaml").read_text())
    return next(d for d in docs if d["metadata"]["name"] == name)


def secret(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}


def test_twenty_queue_messages_become_twenty_runs_of_each_job_and_every_csv_lands_in_the_bucket(
    cluster, pipe_namespace, pipeline_operator, aws_servers, tmp_path
):
    ns, ctl, kasset = pipe_namespace, aws_servers.ctl, Kasset(cluster, pipe_namespace)
    for job in ("unpack-zip", "process-csvs"):  # none of the Runs this test counts may be pruned
        assert example_job(job)["spec"]["successfulRunsHistoryLimit"] >= MESSAGES
    queue = ctl("queue", f"zips-{uuid.uuid4().hex[:8]}")
    ctl("bucket", BUCKET)
    keys = {batch: f"incoming/{ns}/batch-{batch}.zip" for batch in range(1, MESSAGES + 1)}

    def upload(batch: int) -> None:
        path = tmp_path / f"batch-{batch}.zip"
        path.write_bytes(make_zip.make_zip(batch))
        ctl("put", BUCKET, keys[batch], str(path))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upload, keys))
    core = cluster.core
    core.create_namespaced_secret(ns, secret("zip-pipeline-aws", aws_servers.env | {"SQS_QUEUE_URL": queue}))
    core.create_namespaced_secret(ns, secret("zip-pipeline-token", {"token": uuid.uuid4().hex}))
    done = cluster.kubectl("apply", "-n", ns, "-f", str(FOLDER), check=False)
    assert done.returncode == 0, done.stderr

    wait_for(lambda: (found := kasset.condition("sensors", "zip-arrivals", "SourceAvailable")) and
             found["status"] == "True", timeout=240, interval=1, what="Sensor zip-arrivals: SourceAvailable=True")

    bodies = {batch: json.dumps({"key": key}) for batch, key in keys.items()}
    first = ctl("send", queue, *(bodies[b] for b in range(1, 11)))
    wait_for(lambda: len(runs_of(kasset, "zip-arrivals")) >= 10, timeout=180, interval=1,
             what="10 Runs of unpack-zip for the first 10 messages")

    pipeline_operator.stop()  # SIGTERM: a real stop; the source pod keeps polling and gets no answer
    assert pipeline_operator.exit_code == 0, pipeline_operator.log_tail()
    second = ctl("send", queue, *(bodies[b] for b in range(11, MESSAGES + 1)))
    wait_for(lambda: ctl("count", queue)["inFlight"] > 0, timeout=60, interval=0.5,
             what="the source to receive a message while the operator is stopped")
    pipeline_operator.start()

    def finished(sensor: str):
        runs = runs_of(kasset, sensor)
        failed = [r["metadata"]["name"] for r in runs if has_condition(r, "Succeeded", ("False",))]
        assert not failed, f"Runs of Sensor {sensor} failed: {failed}"
        return runs if sum(has_condition(r, "Succeeded") for r in runs) >= MESSAGES else None

    unpacks = wait_for(lambda: finished("zip-arrivals"), timeout=PIPELINE_TIMEOUT, interval=2,
                       what=f"{MESSAGES} Runs of unpack-zip Succeeded")
    processes = wait_for(lambda: finished("unpacked"), timeout=PIPELINE_TIMEOUT, interval=2,
                         what=f"{MESSAGES} Runs of process-csvs Succeeded")

    # exactly one Run per message: the message id is the key, the body's key the param
    assert len(unpacks) == MESSAGES, sorted(r["metadata"]["name"] for r in unpacks)
    assert sorted(r["spec"]["runKey"].rsplit("/", 1)[1] for r in unpacks) == sorted(first + second)  # …/<id>
    batch_of_unpack = {}
    by_key = {key: batch for batch, key in keys.items()}
    for run in unpacks:
        assert run["spec"]["jobRef"]["name"] == "unpack-zip"
        batch_of_unpack[run["metadata"]["name"]] = by_key[run["spec"]["params"]["zip_key"]]
    assert sorted(batch_of_unpack.values()) == sorted(keys)

    # exactly one follow-up per materialization, its s3_key the metadata as the unpack wrote it
    assert len(processes) == MESSAGES, sorted(r["metadata"]["name"] for r in processes)
    followed = {}
    for run in processes:
        params = run["spec"]["params"]
        assert run["spec"]["jobRef"]["name"] == "process-csvs" and params["bucket"] == BUCKET
        unpack = params["s3_key"].removeprefix("unpacked/").removesuffix("/")
        assert params["s3_key"] == f"unpacked/{unpack}/" and unpack in batch_of_unpack, params
        followed[unpack] = run["metadata"]["name"]
    assert sorted(followed) == sorted(batch_of_unpack)

    # every output CSV, with the content its input implies
    outputs = {entry["key"] for entry in ctl("ls", BUCKET, "processed/")}
    wanted = {f"processed/{process}/daily-totals/orders-{n}.csv": expected_totals(batch_of_unpack[unpack], n)
              for unpack, process in followed.items() for n in range(make_zip.ORDER_FILES)}
    assert sorted(set(wanted) - outputs) == []
    with ThreadPoolExecutor(4) as pool:
        written = dict(zip(wanted, pool.map(lambda key: ctl("get", BUCKET, key, parse=False).decode(), wanted)))
    assert {key: text for key, text in written.items() if text != wanted[key]} == {}
    assert ctl("count", queue) == {"visible": 0, "inFlight": 0}
