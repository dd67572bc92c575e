"""A small boto3 command line for the SQS and S3 servers of the examples and tests (ElasticMQ, S3Proxy or AWS).

Run it with the boto3 of `.venv-aws` (`make aws-venv`): boto3 cannot live in `.venv` (botocore wants
python-dateutil<3, the kubernetes client >=3). Endpoints, region and credentials come from boto3's own
variables: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_S3, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY;
`python -m kasset_tools.servers env` prints them for the local servers. S3 uses path-style addressing.

    .venv-aws/bin/python hack/awsctl.py queue incoming              # create (or find) a queue: prints its URL
    .venv-aws/bin/python hack/awsctl.py send URL '{"key": "a.zip"}'  # one message per body: prints the ids
    .venv-aws/bin/python hack/awsctl.py count URL                   # visible and in-flight messages
    .venv-aws/bin/python hack/awsctl.py bucket data                 # create a bucket unless it exists
    .venv-aws/bin/python hack/awsctl.py put data in/a.zip a.zip     # upload a file
    .venv-aws/bin/python hack/awsctl.py ls data out/                # keys and sizes under a prefix (JSON)
    .venv-aws/bin/python hack/awsctl.py get data out/x.csv          # an object's bytes on stdout

Output is JSON (but for `get`); errors are one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


def sqs():
    return boto3.client("sqs")


def s3():
    return boto3.client("s3", config=Config(s3={"addressing_style": "path"}))


def cmd_queue(args) -> object:
    return sqs().create_queue(QueueName=args.name)["QueueUrl"]


def cmd_send(args) -> object:
    client = sqs()
    bodies = list(args.body)
    if args.file:
        with open(args.file, encoding="utf-8") as f:
            bodies += [line.strip() for line in f if line.strip()]
    ids = []
    for start in range(0, len(bodies), 10):  # SendMessageBatch takes at most 10
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[start:start + 10])]
        answer = client.send_message_batch(QueueUrl=args.url, Entries=entries)
        if answer.get("Failed"):
            raise SystemExit(f"awsctl: messages not sent: {answer['Failed']}")
        ids += [entry["MessageId"] for entry in sorted(answer["Successful"], key=lambda e: int(e["Id"]))]
    return ids


def cmd_count(args) -> object:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs().get_queue_attributes(QueueUrl=args.url, AttributeNames=names)["Attributes"]
    return {"visible": int(attrs[names[0]]), "inFlight": int(attrs[names[1]])}


def cmd_bucket(args) -> object:
    client = s3()
    try:
        client.head_bucket(Bucket=args.name)
    except ClientError:
        client.create_bucket(Bucket=args.name)
    return args.name


def cmd_put(args) -> object:
    s3().upload_file(args.file, args.bucket, args.key)
    return f"s3://{args.bucket}/{args.key}"


def cmd_ls(args) -> object:
    pages = s3().get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix)
    return [{"key": o["Key"], "size": o["Size"]} for page in pages for o in page.get("Contents", [])]


def cmd_get(args) -> None:
    sys.stdout.buffer.write(s3().get_object(Bucket=args.bucket, Key=args.key)["Body"].read())


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="awsctl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("queue", help="create a queue (or find it): its URL")
    p.add_argument("name")
    p = sub.add_parser("send", help="send each body as one message: the message ids")
    p.add_argument("url")
    p.add_argument("body", nargs="*")
    p.add_argument("--file", help="a file of bodies, one per line")
    p = sub.add_parser("count", help="the queue's visible and in-flight messages")
    p.add_argument("url")
    p = sub.add_parser("bucket", help="create a bucket unless it exists")
    p.add_argument("name")
    p = sub.add_parser("put", help="upload FILE as s3://BUCKET/KEY")
    p.add_argument("bucket")
    p.add_argument("key")
    p.add_argument("file")
    p = sub.add_parser("ls", help="keys and sizes under PREFIX")
    p.add_argument("bucket")
    p.add_argument("prefix", nargs="?", default="")
    p = sub.add_parser("get", help="an object's bytes on stdout")
    p.add_argument("bucket")
    p.add_argument("key")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        result = globals()[f"cmd_{args.command}"](args)
    except (BotoCoreError, ClientError) as exc:
        print(f"awsctl {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if result is not None:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
