"""`python -m kasset_tools.servers up|down|status|env` — ElasticMQ (SQS) and S3Proxy (S3) in the background.

`up` starts both (each is left alone when already running) and prints their endpoints as JSON; `down`
stops both; `status` prints the endpoints and exits 1 unless both run; `env` prints `export` lines of boto3's
variables for both (endpoints, region, credentials): `eval "$(python -m kasset_tools.servers env)"`.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from . import _jvm, elasticmq, s3proxy
from .clients import client_env


def describe(sqs: elasticmq.ElasticMQ | None, s3: s3proxy.S3Proxy | None) -> dict:
    """The endpoints and credentials of both servers, None for one that is not running."""
    out: dict = {"elasticmq": None, "s3proxy": None}
    if sqs is not None:
        out["elasticmq"] = {"endpoint": sqs.endpoint, "region": sqs.region, "pid": sqs.pid,
                            "access_key": sqs.access_key, "secret_key": sqs.secret_key,
                            "log": str(sqs.directory / "elasticmq.log")}
    if s3 is not None:
        out["s3proxy"] = {"endpoint": s3.endpoint, "region": s3.region, "pid": s3.pid,
                          "access_key": s3.access_key, "secret_key": s3.secret_key,
                          "data": str(s3.data_dir), "log": str(s3.directory / "s3proxy.log")}
    return out


def up(servers: Path, args: argparse.Namespace) -> int:
    try:
        sqs = elasticmq.start(servers / "elasticmq", port=args.elasticmq_port,
                              host_address=args.host_address, queues=args.queue)
        s3 = s3proxy.start(servers / "s3proxy", port=args.s3proxy_port, host_address=args.host_address)
    except _jvm.MissingDependency as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except _jvm.StartFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(describe(sqs, s3), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kasset_tools.servers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--dir", type=Path, help="servers folder (default: $KASSET_SERVERS_DIR or "
                                                 ".kasset/servers); one subfolder per server")
    parser.add_argument("--host-address", help="address put in endpoints and queue URLs, reachable from "
                                               "pods (default: the node IP of the local cluster)")
    parser.add_argument("--elasticmq-port", type=int, default=elasticmq.DEFAULT_PORT, help="0: a free port")
    parser.add_argument("--s3proxy-port", type=int, default=s3proxy.DEFAULT_PORT, help="0: a free port")
    parser.add_argument("--queue", action="append", default=[], help="SQS queue to create at start "
                                                                     "(repeatable)")
    args = parser.parse_args(argv)
    servers = args.dir or _jvm.default_servers_dir()
    if args.command == "up":
        return up(servers, args)
    if args.command == "down":
        for name, stop in (("elasticmq", elasticmq.stop), ("s3proxy", s3proxy.stop)):
            print(f"Stopped {name}" if stop(servers / name) else f"{name} was not running")
        return 0
    sqs, s3 = elasticmq.find(servers / "elasticmq"), s3proxy.find(servers / "s3proxy")
    if args.command == "env":
        if sqs is None or s3 is None:
            print(f"error: the servers are not running from {servers} (python -m kasset_tools.servers up)",
                  file=sys.stderr)
            return 1
        print("\n".join(f"export {k}={shlex.quote(v)}" for k, v in client_env(sqs, s3).items()))
        return 0
    found = describe(sqs, s3)
    print(json.dumps(found, indent=2))
    return 0 if all(found.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
