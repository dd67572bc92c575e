"""Real SQS- and S3-compatible servers (ElasticMQ and S3Proxy, Java) for tests and examples.

- `elasticmq` — SQS: start/stop/find, the `ElasticMQ` handle (endpoint, region, credentials, queue URLs).
- `s3proxy` — S3 with a filesystem backend: start/stop/find, the `S3Proxy` handle.
- `clients` — `client_env`: boto3's variables (endpoints, region, credentials) for both.
- `_jvm` — what both share: `java`, the cached jars (hack/install-jars.sh), launching, probing, state.
- `__main__` — `python -m kasset_tools.servers up|down|status|env`.

Both bind 0.0.0.0 and advertise a host address that pods on the local cluster's real node can reach (the
node IP by default). They are development tooling: the operator never imports them.
"""

from ._jvm import MissingDependency, StartFailed

__all__ = ["MissingDependency", "StartFailed"]
