"""Kubeconfig files for the local cluster's admin and components (plain YAML, certificates by path)."""

from __future__ import annotations

from pathlib import Path

import yaml


def write(path: Path, *, server: str, ca: Path, cert: Path, key: Path, user: str, context: str = "kasset-local") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"client-certificate": str(cert), "client-key": str(key)}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
