"""The only package that talks to the Kubernetes API (and the only one that looks at HTTP status codes).

Objects go in and out as plain dicts (JSON as the API server sends it); parsing into models is the
reconcilers' business.
"""

from kasset.k8s.client import Kube, connect
from kasset.k8s.errors import ApiError, Conflict, NotFound

__all__ = ["ApiError", "Conflict", "Kube", "NotFound", "connect"]
