"""A Job's paramsSchema and a Run's params: is the schema a JSON Schema, do the params satisfy it, and which
params the schema's top-level defaults fill in.

The dialect is the one `$schema` names (draft 4 to 2020-12), else draft 2020-12; `format` is checked for the
formats the standard library can check (date, date-time, email...). Remote `$ref`s are never fetched: a
schema that needs one is invalid (the operator must not make requests a Job author chooses).

Problems come back as `Problem` values: InvalidSpec naming `spec.paramsSchema` for a bad schema, InvalidParams
naming each refused param as `spec.params.<path>`, errors sorted by path, at most MAX_REPORTED of them.

Does not: decide what a Run does with the answer (see `run`), or coerce params (a "3" stays a string).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from jsonschema_specifications import REGISTRY as METASCHEMAS
from referencing.exceptions import Unresolvable

from kasset.planning.dag import Problem

#: Most errors named in one message; the others are counted.
MAX_REPORTED = 5
#: Most errors collected before sorting (a list of 10,000 bad items should not cost 10,000 messages).
MAX_COLLECTED = 100
#: Longest description of one error (a message may quote a whole refused value).
MAX_ERROR_LENGTH = 200

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def choose_validator(schema: Mapping[str, Any]) -> type[Validator] | None:
    """The validator class of the schema's `$schema` dialect (draft 2020-12 without one); None if unknown."""
    if "$schema" not in schema:
        return Draft202012Validator
    if not isinstance(schema["$schema"], str):
        return None
    return validator_for(schema, default=None)  # type: ignore[arg-type]


def check_params_schema(schema: Mapping[str, Any] | None) -> Problem | None:
    """InvalidSpec when `schema` is not a valid JSON Schema of a known dialect, else None (also for None)."""
    if schema is None:
        return None
    cls = choose_validator(schema)
    if cls is None:
        dialect = _shorten(repr(schema["$schema"]))
        message = f"spec.paramsSchema.$schema: unknown dialect {dialect}; omit it for draft 2020-12"
        return Problem("InvalidSpec", message)
    try:
        cls.check_schema(schema)
    except SchemaError as error:
        where = format_path("spec.paramsSchema", error.absolute_path)
        return Problem("InvalidSpec", f"{where}: {_shorten(error.message)}")
    return None


def validate_params(params: Mapping[str, Any], schema: Mapping[str, Any] | None) -> Problem | None:
    """InvalidParams naming each param `params` gets wrong under `schema`, else None (also without schema).

    An invalid schema gives its InvalidSpec problem (see `check_params_schema`); so does a `$ref` that cannot
    be resolved without fetching it.
    """
    if schema is None:
        return None
    problem = check_params_schema(schema)
    if problem is not None:
        return problem
    cls = choose_validator(schema)
    assert cls is not None, "check_params_schema refused unknown dialects"
    validator = cls(schema, registry=METASCHEMAS, format_checker=cls.FORMAT_CHECKER)
    try:
        errors = list(islice(validator.iter_errors(dict(params)), MAX_COLLECTED))
    except Unresolvable as error:
        return Problem("InvalidSpec", f"spec.paramsSchema: cannot resolve $ref {_shorten(str(error.ref))} "
                       "(only references inside the schema are followed)")
    if not errors:
        return None
    return Problem("InvalidParams", describe_errors(errors, complete=len(errors) < MAX_COLLECTED))


def describe_errors(errors: Iterable[ValidationError], *, complete: bool = True) -> str:
    """`spec.params.<path>: <message>` for each distinct error, sorted by path (items by index) then message,
    at most MAX_REPORTED; `complete=False` says that more errors were not collected."""
    found = {(_sort_key(error.absolute_path), format_path("spec.params", error.absolute_path), _shorten(error.message))
             for error in errors}
    lines = [f"{where}: {message}" for _, where, message in sorted(found)]
    shown = lines[:MAX_REPORTED]
    hidden = len(lines) - len(shown)
    if hidden:
        shown.append(f"and {hidden} more" if complete else f"and at least {hidden} more")
    return "; ".join(shown)


def _sort_key(path: Iterable[str | int]) -> tuple[tuple[int, str | int], ...]:
    return tuple((1, part) if isinstance(part, int) else (0, part) for part in path)


def format_path(root: str, path: Iterable[str | int]) -> str:
    """`root.name[0]["odd key"]`: properties as `.name` when they are identifiers, items as `[index]`."""
    parts = [root]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}")
        else:
            parts.append(f"[{_shorten(repr(part), 64)}]")
    return "".join(parts)


def apply_param_defaults(params: Mapping[str, Any], schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` over the `default` of each top-level property of `schema` (nested defaults are not applied)."""
    defaults: dict[str, Any] = {}
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if isinstance(properties, Mapping):
        for name, prop in properties.items():
            if isinstance(prop, Mapping) and "default" in prop:
                defaults[name] = prop["default"]
    return defaults | dict(params)


def _shorten(text: str, limit: int = MAX_ERROR_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
