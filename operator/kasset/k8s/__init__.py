"""The only package that talks to the Kubernetes API (and the only one that looks at HTTP status codes).

Objects go in and out as plain dicts (JSON as the API server sends it); parsing into models is the
reconcilers' business. `Informer` lists and watches one resource and hands every change to a callback.
"""

from kasset.k8s.client import Kube, connect
from kasset.k8s.errors import ApiError, Conflict, Gone, NotFound, Rejected
from kasset.k8s.informer import Informer, Resource

__all__ = ["ApiError", "Conflict", "Gone", "Informer", "Kube", "NotFound", "Rejected", "Resource", "connect"]
