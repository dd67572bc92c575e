"""The SQS and S3 test servers behave like the services: boto3 round trips (hack/awsctl.py, .venv-aws)
against real ElasticMQ and S3Proxy.

Needs no Kubernetes cluster; needs `java`, the jars of hack/install-jars.sh and `.venv-aws` (a skip that
says so, a failure when CI=true).
"""

from __future__ import annotations

import pytest

from kasset_tools.localcluster.cluster import detect_node_ip
from support.awsservers import AwsCtlError


def test_queue_urls_name_the_node_ip_so_pods_can_reach_them(aws_servers):
    url = aws_servers.ctl("queue", "it-reachable")
    assert url == aws_servers.sqs.queue_url("it-reachable")
    assert url.startswith(f"http://{detect_node_ip()}:{aws_servers.sqs.port}/")


def test_sent_messages_are_counted_on_the_queue(aws_servers):
    url = aws_servers.ctl("queue", "it-count")
    ids = aws_servers.ctl("send", url, *[f'{{"n": {n}}}' for n in range(12)])  # two batches
    assert len(set(ids)) == 12
    assert aws_servers.ctl("count", url) == {"visible": 12, "inFlight": 0}


def test_s3_put_get_and_list_an_object_stored_as_a_file(aws_servers, tmp_path):
    source = tmp_path / "day.csv"
    source.write_bytes(b"id,value\n1,42\n")
    aws_servers.ctl("bucket", "it-bucket")
    aws_servers.ctl("bucket", "it-bucket")  # a second call finds it
    aws_servers.ctl("put", "it-bucket", "raw/2026-12-03.csv", str(source))

    body = aws_servers.ctl("get", "it-bucket", "raw/2026-12-03.csv", parse=False)
    listed = aws_servers.ctl("ls", "it-bucket", "raw/")

    assert body == b"id,value\n1,42\n"
    assert listed == [{"key": "raw/2026-12-03.csv", "size": 14}]
    assert (aws_servers.s3.data_dir / "it-bucket" / "raw" / "2026-12-03.csv").read_bytes() == body


def test_s3_refuses_a_request_signed_with_the_wrong_secret(aws_servers):
    with pytest.raises(AwsCtlError, match="403|SignatureDoesNotMatch|AccessDenied"):
        aws_servers.ctl("ls", "it-bucket", env={"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
