"""Templates for Run params and partitions: data in, strings out, no code.

A template is a string with `{{ path }}` placeholders, a path being dotted names into plain JSON data
(`{{ metadata.s3_key }}`, `{{ tick.date }}`, `{{ body.items.0.id }}`: a number indexes a list). There are no
expressions, filters, loops or calls, so a template cannot run anything, however it was written. A string that
is exactly one placeholder takes the value's JSON type (a number stays a number, an object an object); anywhere
else a value is inserted as text (objects and lists as compact JSON). `render_params` renders every string inside
nested objects and lists; keys are not templated.

Errors name the problem and where: `params.key: {{ metadata.s3_kee }}: metadata has no key 's3_kee' (it has:
rows, s3_key)`.

Output is bounded: a rendered string longer than `MAX_RENDERED_CHARS`, or params whose inserted values exceed
`MAX_RENDERED_BYTES` of JSON in all, is a TemplateError, so no template over any data (a 12 KB template over 64 KiB of
metadata could render 62 MiB) costs more than that to produce or to store in a Run.

Does not: know where the data comes from (ticks, materializations, webhook bodies: the callers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.([A-Za-z0-9_-]+))*")
#: Keys listed in a "has no key" message before "...".
LISTED_KEYS = 10
#: Longest string one template renders to, in characters.
MAX_RENDERED_CHARS = 16 * 1024
#: Largest rendered params, as compact JSON (a Run's spec must stay far below etcd's 1.5 MiB).
MAX_RENDERED_BYTES = 64 * 1024


class TemplateError(ValueError):
    """A template that cannot be rendered; the message names the field, the placeholder and the problem."""


class _Budget:
    """What a rendering may still produce, in characters of JSON text."""

    def __init__(self, chars: int):
        self.left = chars

    def charge(self, text: str, *, field: str, limit: int) -> str:
        self.left -= len(text)
        if self.left < 0:
            raise TemplateError(f"{field}: renders to more than {limit} characters")
        return text


def render(template: str, data: Mapping[str, Any], *, field: str, budget: _Budget | None = None) -> Any:
    """`template` rendered over `data`: a string, or the value itself when the template is one placeholder."""
    whole = _PLACEHOLDER.fullmatch(template.strip()) if template.strip().startswith("{{") else None
    if whole is not None:
        value = _lookup(whole.group(1), data, field=field)
        if budget is not None:
            budget.charge(_as_text(value), field=field, limit=MAX_RENDERED_BYTES)
        return value
    rest = _PLACEHOLDER.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"{field}: unbalanced braces in {template!r} (a placeholder is {{{{ path }}}})")
    own = _Budget(MAX_RENDERED_CHARS - len(rest))

    def insert(match: re.Match) -> str:
        text = own.charge(_as_text(_lookup(match.group(1), data, field=field)), field=field,
                          limit=MAX_RENDERED_CHARS)
        return budget.charge(text, field=field, limit=MAX_RENDERED_BYTES) if budget is not None else text

    return _PLACEHOLDER.sub(insert, template)


def render_params(params: Mapping[str, Any], data: Mapping[str, Any], *, field: str = "params") -> dict[str, Any]:
    """Every string in `params` (nested objects and lists included) rendered over `data`: at most
    MAX_RENDERED_BYTES of inserted values in all."""
    return _render_mapping(params, data, field=field, budget=_Budget(MAX_RENDERED_BYTES))


def _render_mapping(params: Mapping[str, Any], data: Mapping[str, Any], *, field: str,
                    budget: _Budget) -> dict[str, Any]:
    return {key: _render_value(value, data, field=f"{field}.{key}", budget=budget) for key, value in params.items()}


def _render_value(value: Any, data: Mapping[str, Any], *, field: str, budget: _Budget) -> Any:
    if isinstance(value, str):
        return render(value, data, field=field, budget=budget)
    if isinstance(value, Mapping):
        return _render_mapping(value, data, field=field, budget=budget)
    if isinstance(value, list):
        return [_render_value(item, data, field=f"{field}[{i}]", budget=budget) for i, item in enumerate(value)]
    return value


def _lookup(path: str, data: Mapping[str, Any], *, field: str) -> Any:
    if not _PATH.fullmatch(path):
        raise TemplateError(f"{field}: {{{{ {path} }}}} is not a path (dotted names such as metadata.s3_key; "
                            "templates hold no expressions)")
    value: Any = data
    walked: list[str] = []
    for part in path.split("."):
        value = _step(value, part, where=".".join(walked) or "the data", field=field, path=path)
        walked.append(part)
    return value


def _step(value: Any, part: str, *, where: str, field: str, path: str) -> Any:
    if isinstance(value, Mapping):
        if part in value:
            return value[part]
        keys = sorted(map(str, value))
        listed = ", ".join(keys[:LISTED_KEYS]) + (", ..." if len(keys) > LISTED_KEYS else "")
        raise TemplateError(f"{field}: {{{{ {path} }}}}: {where} has no key {part!r} "
                            f"({'it has: ' + listed if keys else 'it is empty'})")
    if isinstance(value, list):
        if part.isdigit() and int(part) < len(value):
            return value[int(part)]
        raise TemplateError(f"{field}: {{{{ {path} }}}}: {where} is a list of {len(value)}; {part!r} is not an index")
    raise TemplateError(f"{field}: {{{{ {path} }}}}: {where} is {_kind(value)}, which has no {part!r}")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"
