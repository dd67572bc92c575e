"""Deterministic, valid Kubernetes names and label values derived from Kasset names.

Child objects get names derived from their parent (STYLE lesson 5), so that "already exists" means "already
launched". Names that had to be changed to fit (too long, invalid characters) get a short hash of the original
so that two different inputs do not end up with the same name.

Does not: check names against the API server; it only guarantees the syntax.
"""

from __future__ import annotations

import hashlib
import re

DNS_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
HASH_LENGTH = 8
#: Hex digits of the runKey hash in a triggered Run's name (and of a Sensor's seen keys).
KEY_HASH_LENGTH = 16
#: Indexed Jobs name each pod's hostname `<job>-<index>`, which must stay a DNS label: leave room for
#: "-" and up to six digits of index.
JOB_NAME_MAX = DNS_LABEL_MAX - 7
#: Hex digits of the (run, step) hash ending every step Job name.
STEP_HASH_LENGTH = 5

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def short_hash(text: str, length: int = HASH_LENGTH) -> str:
    """A stable hex digest prefix of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def make_dns_label(raw: str, *, max_length: int = DNS_LABEL_MAX) -> str:
    """Turn `raw` into a DNS-1123 label (lowercase alphanumerics and '-', at most `max_length`).

    `raw` is kept as is when already valid; otherwise it is cleaned, cut, and suffixed with a hash of `raw`.
    """
    if len(raw) <= max_length and _DNS_LABEL.match(raw):
        return raw
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", raw.lower())).strip("-")
    keep = max_length - HASH_LENGTH - 1
    prefix = cleaned[:keep].rstrip("-")
    suffix = short_hash(raw)
    return f"{prefix}-{suffix}" if prefix else f"k{suffix}"


def step_job_name(run_name: str, step_name: str) -> str:
    """Name of the batch/v1 Job that runs `step_name` of `run_name`: `<run>-<step>-<hash>`, a DNS label.

    The hash is of the exact pair, so that Run "a-b" step "c" and Run "a" step "b-c" never share a name
    ("already exists" must mean "already launched by this step"). At most 56 characters: the Job controller
    copies the name into a label of every pod, and an Indexed (fan-out) Job's pods get the hostname
    `<job>-<index>`, which must still fit in 63.
    """
    suffix = short_hash(f"{run_name}/{step_name}", STEP_HASH_LENGTH)
    prefix = make_dns_label(f"{run_name}-{step_name}", max_length=JOB_NAME_MAX - STEP_HASH_LENGTH - 1)
    return f"{prefix}-{suffix}"


def sanitize_label_value(value: str) -> str:
    """Turn `value` into a valid label value; changed values get a hash suffix (the exact value belongs in an
    annotation)."""
    if len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.match(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "-", value).strip("-_.")
    keep = LABEL_VALUE_MAX - HASH_LENGTH - 1
    prefix = cleaned[:keep].rstrip("-_.")
    suffix = short_hash(value)
    return f"{prefix}-{suffix}" if prefix else suffix


def derived_run_name(prefix: str, key: str) -> str:
    """Name of a Run created by a trigger: `<prefix>-<64-bit hash of key>`, a DNS label, so one key → one Run
    (32 bits would make two of 77,000 keys collide with even odds)."""
    suffix = short_hash(key, KEY_HASH_LENGTH)
    keep = DNS_LABEL_MAX - KEY_HASH_LENGTH - 1
    cleaned = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", prefix.lower())).strip("-")[:keep].rstrip("-")
    return f"{cleaned}-{suffix}" if cleaned else f"run-{suffix}"
