"""The grammar of storage URI templates (`Asset.spec.storage`, `Job.spec.storage`), in its three enforcers.

A template is literal text with placeholders `{namespace}`, `{asset}`, `{partition}`, `{run}` and `{step}`;
`{{` and `}}` are literal braces. Nothing else inside braces is accepted: no format specs (`{asset:>99}`), no
conversions (`{asset!r}`), no attribute or index access (`{asset.x}`, `{asset[0]}`), and at most
MAX_PLACEHOLDERS placeholders, so that a rendered URI stays small (a few KiB at worst).

- The API server: `STORAGE_TEMPLATE_RULE`, a CEL rule with the whole grammar, names included.
- The models: `StorageTemplate`, a string type rejecting what is not a placeholder at all; an unknown name is
  left to the planner, which reports it as InvalidSpec on the object (so that objects stay readable).
- The planner: `find_template_errors(template, placeholders=STORAGE_PLACEHOLDERS)`.

A value inserted into a template (a partition key comes from data: a dynamic key may be a file name) must not
lead out of the prefix the template gives it: `path_escape_problem` refuses `.` and `..` path segments and
control characters wherever keys enter (static keys in the models, dynamic keys reported by steps, and the
renderer itself), and the renderer percent-encodes what would change a URI's meaning (`?`, `#`, `%`, spaces).

Does not: render templates (see `kasset.planning.storage`), or know what the placeholders stand for.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Annotated

from pydantic import AfterValidator, Field

#: The placeholders a storage template may use, in the order the documentation lists them.
STORAGE_PLACEHOLDERS = ("namespace", "asset", "partition", "run", "step")
#: Longest template accepted (characters).
STORAGE_TEMPLATE_MAX_LENGTH = 2048
#: Most placeholders in one template: bounds the rendered URI to the template plus 16 names of ≤ 253 chars.
MAX_PLACEHOLDERS = 16
#: Most problems listed for one template; the rest are counted.
MAX_REPORTED_ERRORS = 5

#: One token of a template: an escaped brace, a `{...}` field (its inside as group 1), or a lone brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_LITERAL = r"(?:[^{}]|\{\{|\}\})*"
#: The whole grammar as an RE2 regular expression (CEL's `matches`), anchored.
STORAGE_TEMPLATE_PATTERN = (
    rf"^{_LITERAL}(?:\{{(?:{'|'.join(STORAGE_PLACEHOLDERS)})\}}{_LITERAL}){{0,{MAX_PLACEHOLDERS}}}$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_escape_problem(value: str) -> str | None:
    """Why `value` may not be put into a storage path (a `.` or `..` segment, a control character), or None."""
    if _CONTROL.search(value):
        return f"{value[:40]!r} contains a control character"
    if any(part in (".", "..") for part in re.split(r"[/\\]", value)):
        return f"{value[:40]!r} has a '.' or '..' path segment: storage paths would leave their prefix"
    return None


_KNOWN = ", ".join(f"{{{name}}}" for name in STORAGE_PLACEHOLDERS)
STORAGE_TEMPLATE_RULE = {
    # CEL string literal: every backslash of the pattern doubled.
    "rule": "self.matches('" + STORAGE_TEMPLATE_PATTERN.replace("\\", "\\\\") + "')",
    "message": f"must be a URI template with at most {MAX_PLACEHOLDERS} of the placeholders {_KNOWN}; "
    "no format specs, conversions, attribute or index access; {{ and }} for literal braces",
}


def iterate_placeholders(template: str) -> Iterator[re.Match[str]]:
    """Every `{...}` field of `template` (escaped braces and literal text skipped), left to right."""
    return (match for match in _TOKEN.finditer(template) if match.group(1) is not None)


def find_template_errors(template: str, *, placeholders: Collection[str] | None = None) -> list[str]:
    """Why `template` is not a storage template, one line per problem, left to right (empty when it is).

    With `placeholders`, names outside it are problems too; without, any identifier passes as a name.
    """
    errors: list[str] = []
    count = 0
    for match in _TOKEN.finditer(template):
        token, inside = match.group(0), match.group(1)
        if token in ("{{", "}}"):
            continue
        if inside is None:
            errors.append(f"unbalanced {token!r} at position {match.start()} (write {token * 2} for a literal brace)")
            continue
        count += 1
        problem = describe_field(inside, placeholders=placeholders)
        if problem is not None:
            errors.append(f"{token}: {problem}")
    if count > MAX_PLACEHOLDERS:
        errors.append(f"{count} placeholders; at most {MAX_PLACEHOLDERS} are allowed")
    if len(errors) > MAX_REPORTED_ERRORS:
        errors[MAX_REPORTED_ERRORS:] = [f"and {len(errors) - MAX_REPORTED_ERRORS} more problems"]
    return errors


def describe_field(inside: str, *, placeholders: Collection[str] | None = None) -> str | None:
    """What is wrong with the inside of one `{...}` field, or None when it is a placeholder name."""
    if "!" in inside:
        return "conversions (!r, !s, !a) are not supported"
    if ":" in inside:
        return "format specs are not supported"
    if "." in inside or "[" in inside:
        return "attribute and index access are not supported"
    if not _NAME.fullmatch(inside):
        return f"not a placeholder name; use one of {_KNOWN}"
    if placeholders is not None and inside not in placeholders:
        return f"unknown placeholder; use one of {_KNOWN}"
    return None


def check_template_syntax(template: str) -> str:
    """Pydantic validator: reject a template that is not literal text with `{name}` placeholders."""
    errors = find_template_errors(template)
    if errors:
        raise ValueError("; ".join(errors))
    return template


#: A storage URI template field: bounded, syntax checked at parse time, whole grammar checked by the API server.
StorageTemplate = Annotated[
    str,
    Field(
        max_length=STORAGE_TEMPLATE_MAX_LENGTH,
        json_schema_extra={"x-kubernetes-validations": [STORAGE_TEMPLATE_RULE]},
    ),
    AfterValidator(check_template_syntax),
]
