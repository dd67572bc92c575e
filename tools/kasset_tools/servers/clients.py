"""How a client reaches both servers: boto3's own environment variables, for `hack/awsctl.py`, the SQS source
and step pods alike (endpoints, region, credentials). ElasticMQ takes any credentials; S3Proxy's are used."""

from __future__ import annotations

from .elasticmq import ElasticMQ
from .s3proxy import S3Proxy


def client_env(sqs: ElasticMQ, s3: S3Proxy) -> dict[str, str]:
    """AWS_ENDPOINT_URL_SQS/_S3, AWS_REGION/AWS_DEFAULT_REGION and the access key pair for clients of `sqs` and `s3`."""
    return {"AWS_ENDPOINT_URL_SQS": sqs.endpoint, "AWS_ENDPOINT_URL_S3": s3.endpoint, "AWS_REGION": s3.region,
            "AWS_DEFAULT_REGION": s3.region,  # botocore reads only this one; AWS_REGION is the SDKs' newer name
            "AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key}
