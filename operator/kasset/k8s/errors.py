"""The adapter's error tree: every `ApiException` becomes one of these, by HTTP status.

    ApiError            any other failure of a call (temporary: the reconcile is retried)
    ├── NotFound        404: the object is gone
    └── Conflict        409: a stale resourceVersion on update (re-read and plan again)
"""

from __future__ import annotations

import json


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


def from_api_exception(exc, *, what: str) -> ApiError:
    """Translate a kubernetes.client ApiException into our tree, keeping the server's message."""
    message = exc.reason or ""
    try:
        message = json.loads(exc.body).get("message", message)
    except (TypeError, ValueError, AttributeError):
        pass
    cls = {404: NotFound, 409: Conflict}.get(exc.status, ApiError)
    return cls(f"{what}: {message}", status=exc.status)
