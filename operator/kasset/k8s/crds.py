"""Install Kasset's CRDs (the generated YAML in `crds/`) and wait until the API server serves them."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from kubernetes import client

from kasset.k8s.errors import from_api_exception

CRDS_DIR = Path(__file__).resolve().parents[3] / "crds"


def install_crds(api: client.ApiClient, directory: Path = CRDS_DIR, *, timeout: float = 60) -> list[str]:
    """Create or update every CRD in `directory`; return their names once all are Established."""
    ext = client.ApiextensionsV1Api(api)
    names = []
    for path in sorted(directory.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        name = crd["metadata"]["name"]
        names.append(name)
        try:
            ext.create_custom_resource_definition(crd)
        except client.ApiException as exc:
            if exc.status != 409:
                raise from_api_exception(exc, what=f"create CRD {name}") from None
            current = ext.read_custom_resource_definition(name)
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
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
