"""The adapter's error tree: every `ApiException` becomes one of these, by HTTP status.

    ApiError            any other failure of a call (temporary: the reconcile is retried with backoff)
    ├── NotFound        404: the object is gone
    ├── Conflict        409: a stale resourceVersion on update (re-read and plan again)
    ├── Gone            410: a watch's resourceVersion is too old (list again)
    └── Rejected        400, 403, 422: the server refuses this request as it is (invalid, forbidden, over
                        quota); repeating it changes nothing, so it is reported, not retried
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


class Gone(ApiError):
    pass


class Rejected(ApiError):
    pass


def from_api_exception(exc, *, what: str) -> ApiError:
    """Translate a kubernetes.client ApiException into our tree, keeping the server's message."""
    message = exc.reason or ""
    try:
        message = json.loads(exc.body).get("message", message)
    except (TypeError, ValueError, AttributeError):
        pass
    cls = {400: Rejected, 403: Rejected, 404: NotFound, 409: Conflict, 410: Gone, 422: Rejected}.get(exc.status, ApiError)
    return cls(f"{what}: {message}", status=exc.status)
