"""`python -m kasset_tools.localcluster up|down|status|kubeconfig|destroy` — the Makefile's cluster targets."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .cluster import Cluster
from .layout import MissingBinary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kasset_tools.localcluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "kubeconfig", "destroy"])
    parser.add_argument("--dir", help="cluster folder (default: $KASSET_CLUSTER_DIR or .kasset/cluster)")
    parser.add_argument("--no-real-node", action="store_true", help="start kwok nodes only")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir)
    if args.command == "kubeconfig":
        print(cluster.kubeconfig)
        return 0
    if args.command == "up":
        real = not args.no_real_node and os.environ.get("KASSET_REAL_NODE", "1") != "0"
        try:
            cluster.up(real_node=real)
        except MissingBinary as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "down":
        cluster.down()
        return 0
    if args.command == "destroy":
        cluster.destroy()
        return 0
    state = cluster.state()
    healthy = cluster.healthy()
    print(json.dumps({"healthy": healthy, "processes": cluster.running(),
                      "state": state.__dict__ if state else None}, indent=2))
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
