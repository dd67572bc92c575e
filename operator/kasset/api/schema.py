"""Turn a pydantic model's JSON Schema into a Kubernetes *structural* OpenAPI v3 schema.

The API server rejects CRDs whose schema is not structural: every node typed (or marked
x-kubernetes-preserve-unknown-fields / x-kubernetes-int-or-string), no $ref, no anyOf/oneOf/allOf carrying
types, no `additionalProperties` next to `properties`. Pydantic emits all of those, so this module:

- inlines `$defs` (recursion is an error: Kubernetes schemas cannot recurse);
- collapses `Optional[X]` (anyOf X | null) into X: an optional field is simply absent, never `null`;
- turns `int | str` into `x-kubernetes-int-or-string` (resource quantities);
- turns free JSON (`Any`, `dict[str, Any]`, extra="allow") into `x-kubernetes-preserve-unknown-fields`;
- keeps only keywords the API server knows, and scalar defaults (the server applies them).

Does not: add CRD envelope, printer columns or names (see `crd`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
_KEPT = frozenset(
    {
        "type",
        "description",
        "format",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "required",
        "x-kubernetes-validations",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        PRESERVE,
        INT_OR_STRING,
    }
)
_UNION_KEYS = ("anyOf", "oneOf")


class SchemaError(ValueError):
    """The model uses a construct that has no structural equivalent; the message names the path."""


def build_structural_schema(model: type[BaseModel]) -> Schema:
    """Return the structural OpenAPI v3 schema of `model` (validation mode, camelCase names)."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _convert(raw, defs, path=model.__name__, seen=())


def _convert(node: Schema, defs: Schema, *, path: str, seen: tuple[str, ...]) -> Schema:
    node = _inline(node, defs, path=path, seen=seen)
    seen = seen + tuple(node.pop("__refs__", ()))
    union = [key for key in _UNION_KEYS if key in node]
    if union:
        return _convert_union(node, union[0], defs, path=path, seen=seen)
    out: Schema = {key: value for key, value in node.items() if key in _KEPT}
    if "const" in node:
        out["enum"] = [node["const"]]
    if "default" in node and isinstance(node["default"], (bool, int, float, str)):
        out["default"] = node["default"]
    if isinstance(node.get("exclusiveMinimum"), (int, float)):
        out["minimum"], out["exclusiveMinimum"] = node["exclusiveMinimum"], True
    if isinstance(node.get("exclusiveMaximum"), (int, float)):
        out["maximum"], out["exclusiveMaximum"] = node["exclusiveMaximum"], True
    if "prefixItems" in node:
        raise SchemaError(f"{path}: tuples have no structural schema; use a list or an object")
    if "properties" in node:
        out["properties"] = {
            name: _convert(child, defs, path=f"{path}.{name}", seen=seen)
            for name, child in node["properties"].items()
        }
    if "items" in node:
        out["items"] = _convert(node["items"], defs, path=f"{path}[]", seen=seen)
    _convert_additional(node, out, defs, path=path, seen=seen)
    if "type" not in out and not out.get(PRESERVE) and not out.get(INT_OR_STRING):
        out[PRESERVE] = True  # `Any`: free JSON of any type
    return _order_keys(out)


_HEAD = ("description", "type", "format", "enum", "default")
_TAIL = ("required", "properties", "items", "additionalProperties")


def _order_keys(node: Schema) -> Schema:
    """Order keywords for a reader: what the field is, then its constraints, then its children."""
    middle = sorted(key for key in node if key not in _HEAD and key not in _TAIL)
    return {key: node[key] for key in (*_HEAD, *middle, *_TAIL) if key in node}



def _inline(node: Schema, defs: Schema, *, path: str, seen: tuple[str, ...]) -> Schema:
    """Replace a $ref (or a single-element allOf) by its definition; sibling keywords win."""
    node = dict(node)
    if "allOf" in node and len(node["allOf"]) == 1:
        node = {**node.pop("allOf")[0], **node}
    if "$ref" not in node:
        return node
    name = node.pop("$ref").rsplit("/", 1)[-1]
    if name in seen:
        raise SchemaError(f"{path}: {name} refers to itself; Kubernetes schemas cannot recurse")
    target = dict(defs[name])
    target.pop("title", None)
    merged = {**target, **node}
    merged["__refs__"] = [*node.get("__refs__", ()), name]
    return _inline(merged, defs, path=path, seen=seen + (name,))


def _convert_union(node: Schema, key: str, defs: Schema, *, path: str, seen: tuple[str, ...]) -> Schema:
    branches = [b for b in node[key] if b.get("type") != "null"]
    outer = {k: v for k, v in node.items() if k != key}
    if len(branches) == 1:
        inner = _inline(branches[0], defs, path=path, seen=seen)
        # The field's own keywords (description, default, list-type...) win over the branch's.
        return _convert({**inner, **outer}, defs, path=path, seen=seen)
    types = sorted(b.get("type", "") for b in branches)
    if types == ["integer", "string"]:
        out = _convert(outer, defs, path=path, seen=seen)
        out.pop(PRESERVE, None)
        out[INT_OR_STRING] = True
        return out
    raise SchemaError(f"{path}: unions of {types} have no structural schema")


def _convert_additional(node: Schema, out: Schema, defs: Schema, *, path: str, seen: tuple[str, ...]) -> None:
    """Map `additionalProperties`: True → preserve unknown fields; a schema → typed map values."""
    extra = node.get("additionalProperties")
    if extra is True or (node.get("type") == "object" and "properties" not in node and extra is None):
        out[PRESERVE] = True
    elif isinstance(extra, dict):
        if "properties" in node:
            raise SchemaError(f"{path}: properties and additionalProperties cannot be combined")
        out["additionalProperties"] = _convert(extra, defs, path=f"{path}{{}}", seen=seen)


def walk_schema(node: Schema, path: str = ""):
    """Yield (path, node) for every node of a structural schema, depth first."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk_schema(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk_schema(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk_schema(node["additionalProperties"], f"{path}{{}}")


def find_structural_errors(schema: Schema) -> list[str]:
    """List why `schema` is not structural (empty when it is); used by tests and before writing CRDs."""
    errors = []
    for path, node in walk_schema(schema):
        where = path or "<root>"
        for key in ("$ref", "anyOf", "oneOf", "allOf", "not", "$defs", "title", "nullable"):
            if key in node:
                errors.append(f"{where}: has {key}")
        if "type" not in node and not node.get(PRESERVE) and not node.get(INT_OR_STRING):
            errors.append(f"{where}: has no type")
        if "properties" in node and "additionalProperties" in node:
            errors.append(f"{where}: has both properties and additionalProperties")
        if node.get("type") == "array" and "items" not in node:
            errors.append(f"{where}: array without items")
        if node.get("x-kubernetes-list-type") == "map":
            keys = node.get("x-kubernetes-list-map-keys", [])
            required = node.get("items", {}).get("required", [])
            errors.extend(f"{where}: list-map key {k} is not required" for k in keys if k not in required)
    return errors
