"""Render storage URI templates such as `file:///data/{namespace}/{asset}/{partition}`.

Does not: touch storage. The operator never moves data: it only tells steps where to read and write.
"""

from __future__ import annotations

import string

PLACEHOLDERS = frozenset({"namespace", "asset", "step", "run", "partition"})
#: What {partition} becomes when the Run has no partition.
UNPARTITIONED = "unpartitioned"


def find_unknown_placeholders(template: str) -> list[str]:
    """Placeholders in `template` that rendering does not know (empty when the template is fine).

    A malformed template (an unbalanced brace) is reported as one entry describing the error.
    """
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        return [f"malformed template ({error})"]
    return sorted({name for name in fields if name not in PLACEHOLDERS})


def render_storage_uri(
    template: str, *, namespace: str, asset: str | None, step: str, run: str, partition: str | None
) -> str:
    """Fill the placeholders of `template`. {asset} falls back to the step name for explicit steps."""
    values = {
        "namespace": namespace,
        "asset": asset or step,
        "step": step,
        "run": run,
        "partition": partition or UNPARTITIONED,
    }
    return template.format_map(values)
