"""Real SQS (ElasticMQ) and S3 (S3Proxy) servers for the tests, and a boto3 client for them.

`session_aws_servers(directory)` is the body of a session fixture: it starts both servers from
`directory` on free ports of 0.0.0.0, advertising the node IP (so pods on the real node reach them), yields
an `AwsServers`, and stops both at the end. Without the jars, `java` or `.venv-aws` it skips, saying how to
install them, except in CI (`CI=true`), where a server the tests cannot start is a failure.

`AwsServers.ctl(...)` runs `hack/awsctl.py` with the boto3 of `.venv-aws` (boto3 cannot be imported here:
botocore pins python-dateutil<3, the kubernetes client >=3), signed with the servers' region and
credentials; `aws_python()` is that interpreter. `start_sqs_source` runs the SQS source program with it, as
its image does; `stop_sqs_source` stops it with SIGTERM and reads its JSON log.
Starting and stopping live in `kasset_tools.servers`; this module only adapts them to pytest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from kasset_tools.servers import MissingDependency, elasticmq, s3proxy
from kasset_tools.servers.clients import client_env
from kasset_tools.servers.elasticmq import ElasticMQ
from kasset_tools.servers.s3proxy import S3Proxy


@dataclass(frozen=True)
class AwsServers:
    """Both servers of a test session, with the seconds each took to answer HTTP."""

    sqs: ElasticMQ
    s3: S3Proxy
    startup_seconds: dict[str, float]

    @property
    def env(self) -> dict[str, str]:
        """boto3's variables for a client of both servers (endpoints, region, credentials)."""
        return client_env(self.sqs, self.s3)

    def ctl(self, *args: str, env: Mapping[str, str] | None = None, parse: bool = True):
        """Run `hack/awsctl.py ARGS` against the servers: its JSON answer (`parse`) or its raw stdout bytes.
        `env` overrides variables (e.g. a wrong secret); a failure raises AwsCtlError with its stderr."""
        done = subprocess.run([str(aws_python()), str(AWSCTL), *args], capture_output=True, timeout=120,
                              env=clean_aws_env() | self.env | dict(env or {}))
        if done.returncode != 0:
            raise AwsCtlError(f"awsctl {' '.join(args)} exited {done.returncode}: {done.stderr.decode().strip()}")
        return json.loads(done.stdout) if parse else done.stdout


class AwsCtlError(RuntimeError):
    """hack/awsctl.py failed; the message quotes its stderr."""


REPO = Path(__file__).resolve().parents[2]
AWSCTL = REPO / "hack" / "awsctl.py"
SQS_SOURCE = REPO / "sources" / "sqs" / "kasset_sqs_source.py"


def aws_python() -> Path:
    """The interpreter of `.venv-aws` (boto3 as pinned for the images): `make aws-venv` creates it."""
    return Path(os.environ.get("KASSET_AWS_VENV", REPO / ".venv-aws")) / "bin" / "python"


def clean_aws_env() -> dict[str, str]:
    """This process's environment without AWS/SQS/KASSET variables and with no AWS config files, so a
    developer's own AWS profile never leaks into a test."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_", "KASSET_SENSOR"))}
    return keep | {"AWS_CONFIG_FILE": "/nonexistent/aws-config", "AWS_SHARED_CREDENTIALS_FILE":
                   "/nonexistent/aws-credentials", "AWS_EC2_METADATA_DISABLED": "true"}


def start_sqs_source(servers: AwsServers, *, queue_url: str, sensor_url: str, token: str, wait_seconds: int,
                     **env: str) -> subprocess.Popen:
    """The SQS source program long-polling `queue_url` (`wait_seconds`) and posting to `sensor_url`, with only
    AWS_REGION (not botocore's AWS_DEFAULT_REGION) and the SQS endpoint variable; `env` overrides."""
    variables = {"SQS_QUEUE_URL": queue_url, "AWS_ENDPOINT_URL_SQS": servers.sqs.endpoint,
                 "AWS_REGION": servers.sqs.region, "AWS_ACCESS_KEY_ID": "any", "AWS_SECRET_ACCESS_KEY": "any",
                 "KASSET_SENSOR_URL": sensor_url, "KASSET_SENSOR_TOKEN": token,
                 "SQS_WAIT_TIME_SECONDS": str(wait_seconds), **env}
    return subprocess.Popen([str(aws_python()), str(SQS_SOURCE)], env=clean_aws_env() | variables,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_sqs_source(proc: subprocess.Popen, *, timeout: float) -> tuple[int, list[dict], str]:
    """SIGTERM (the long poll at hand may take its whole wait), then its exit code, JSON log lines and stderr."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err


def start_aws_servers(directory: Path, *, host_address: str | None = None) -> AwsServers:
    """Start ElasticMQ and S3Proxy from subfolders of `directory` on free ports; if the second fails,
    the first is stopped again. Raises `MissingDependency` or `StartFailed`."""
    began = time.monotonic()
    sqs = elasticmq.start(directory / "elasticmq", port=0, host_address=host_address)
    sqs_seconds = time.monotonic() - began
    try:
        began = time.monotonic()
        s3 = s3proxy.start(directory / "s3proxy", port=0, host_address=sqs.host_address)
    except BaseException:
        elasticmq.stop(sqs.directory)
        raise
    return AwsServers(sqs=sqs, s3=s3, startup_seconds={"elasticmq": round(sqs_seconds, 2),
                                                       "s3proxy": round(time.monotonic() - began, 2)})


def stop_aws_servers(servers: AwsServers) -> None:
    elasticmq.stop(servers.sqs.directory)
    s3proxy.stop(servers.s3.directory)


def session_aws_servers(directory: Path) -> Iterator[AwsServers]:
    """For a session fixture (`yield from`): both servers, skipped (failed in CI) when not installed."""
    try:
        if not aws_python().exists():
            raise MissingDependency(f"{aws_python()} not found (make aws-venv)")
        servers = start_aws_servers(directory)
    except MissingDependency as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the SQS/S3 test servers are not installed: {exc}", pytrace=False)
        pytest.skip(f"SQS/S3 test servers not installed: {exc}")
    try:
        yield servers
    finally:
        stop_aws_servers(servers)
        print(f"[aws servers] started in {servers.startup_seconds} s; logs in {directory}")
