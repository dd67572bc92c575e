"""Install Kasset's CRDs and wait until the API server serves them.

The CRDs are rendered in memory from the pydantic models (`kasset.api.crd.build_crd`), the same source as the
checked-in `crds/` and the chart's copy, so an installed wheel installs exactly what it understands.
"""

from __future__ import annotations

import time

from kubernetes import client

from kasset.api.crd import build_crd
from kasset.api.kinds import KINDS
from kasset.k8s.errors import from_api_exception


def render_crds() -> list[dict]:
    """Every Kasset CRD, built from the models."""
    return [build_crd(info) for info in KINDS]


def install_crds(api: client.ApiClient, crds: list[dict] | None = None, *, timeout: float = 60) -> list[str]:
    """Create or update every CRD (by default all of Kasset's); return their names once all are Established."""
    ext = client.ApiextensionsV1Api(api)
    names = []
    for crd in crds if crds is not None else render_crds():
        name = crd["metadata"]["name"]
        names.append(name)
        try:
            ext.create_custom_resource_definition(crd)
        except client.ApiException as exc:
            if exc.status != 409:
                raise from_api_exception(exc, what=f"create CRD {name}") from None
            current = ext.read_custom_resource_definition(name)
            crd = {**crd, "metadata": {**crd["metadata"], "resourceVersion": current.metadata.resource_version}}
            ext.replace_custom_resource_definition(name, crd)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in list(pending):
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not established within {timeout}s: {sorted(pending)}")
        if pending:
            time.sleep(0.2)
    return names
