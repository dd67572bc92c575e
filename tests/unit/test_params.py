"""paramsSchema: the schema is a JSON Schema (InvalidSpec naming spec.paramsSchema otherwise), params satisfy it
(InvalidParams naming each param otherwise), and top-level defaults fill in params."""

import pytest

from kasset.planning import Problem
from kasset.planning.params import (
    MAX_REPORTED,
    apply_param_defaults,
    check_params_schema,
    format_path,
    validate_params,
)

SCHEMA = {
    "type": "object",
    "required": ["date"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "limit": {"type": "integer", "minimum": 1, "default": 10},
        "tags": {"type": "array", "items": {"type": "string"}},
        "source": {"type": "object", "properties": {"bucket": {"type": "string"}}, "required": ["bucket"]},
    },
    "additionalProperties": False,
}


def test_no_schema_accepts_any_params():
    assert check_params_schema(None) is None
    assert validate_params({"anything": [1, {"x": None}]}, None) is None


def test_a_valid_schema_passes_the_check():
    assert check_params_schema(SCHEMA) is None
    assert check_params_schema({}) is None


@pytest.mark.parametrize(
    ("schema", "where", "why"),
    [
        ({"type": "strin"}, "spec.paramsSchema.type", "'strin' is not valid"),
        ({"properties": {"date": {"type": 3}}}, "spec.paramsSchema.properties.date.type", "3 is not valid"),
        ({"required": "date"}, "spec.paramsSchema.required", "'date' is not of type 'array'"),
        ({"properties": {"id": {"pattern": "["}}}, "spec.paramsSchema.properties.id.pattern", "is not a 'regex'"),
        ({"minimum": "1"}, "spec.paramsSchema.minimum", "'1' is not of type 'number'"),
    ],
)
def test_an_invalid_schema_is_invalid_spec_naming_the_schema_field(schema, where, why):
    problem = check_params_schema(schema)
    assert problem.reason == "InvalidSpec" and not problem.transient
    assert problem.message.startswith(f"{where}: ") and why in problem.message


def test_an_unknown_dialect_is_invalid_spec_and_known_ones_are_honoured():
    problem = check_params_schema({"$schema": "https://example.com/my-dialect"})
    assert problem.reason == "InvalidSpec" and problem.message.startswith("spec.paramsSchema.$schema: unknown dialect")
    assert check_params_schema({"$schema": ["not", "a", "string"]}).reason == "InvalidSpec"
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#",
              "properties": {"n": {"minimum": 1, "exclusiveMinimum": True}}}
    assert check_params_schema(draft4) is None  # boolean exclusiveMinimum: draft 4 only
    draft2020 = draft4 | {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    assert check_params_schema(draft2020).reason == "InvalidSpec"
    assert validate_params({"n": 1}, draft4).reason == "InvalidParams"


def test_valid_params_pass():
    assert validate_params({"date": "2026-01-02", "limit": 5, "tags": ["a"], "source": {"bucket": "b"}}, SCHEMA) is None


def test_a_missing_required_param_is_named():
    problem = validate_params({}, SCHEMA)
    assert problem == Problem("InvalidParams", "spec.params: 'date' is a required property")


def test_each_wrong_param_is_named_by_its_path_sorted():
    params = {"date": "2026-13-45", "limit": 0, "tags": ["a", 2], "source": {}, "extra": 1}
    message = validate_params(params, SCHEMA).message
    assert message.split("; ") == [
        "spec.params: Additional properties are not allowed ('extra' was unexpected)",
        "spec.params.date: '2026-13-45' is not a 'date'",
        "spec.params.limit: 0 is less than the minimum of 1",
        "spec.params.source: 'bucket' is a required property",
        "spec.params.tags[1]: 2 is not of type 'string'",
    ]


def test_many_errors_are_bounded_and_counted_with_items_in_index_order():
    message = validate_params({"tags": list(range(30)), "date": "2026-01-02"}, SCHEMA).message
    parts = message.split("; ")
    assert len(parts) == MAX_REPORTED + 1 and parts[-1] == f"and {30 - MAX_REPORTED} more"
    assert parts[:3] == [f"spec.params.tags[{i}]: {i} is not of type 'string'" for i in range(3)]


def test_a_huge_list_of_errors_is_not_collected_whole():
    message = validate_params({"tags": list(range(100_000)), "date": "2026-01-02"}, SCHEMA).message
    assert message.endswith("more") and "at least" in message and len(message) < 1024


def test_a_huge_refused_value_is_quoted_shortly():
    message = validate_params({"date": "x" * 100_000}, SCHEMA).message
    assert message.startswith("spec.params.date: 'xxx") and len(message) < 300


def test_param_names_that_are_not_identifiers_are_quoted():
    schema = {"properties": {"odd key": {"type": "string"}}}
    assert validate_params({"odd key": 1}, schema).message == "spec.params['odd key']: 1 is not of type 'string'"
    assert format_path("spec.params", ["a", 0, "b-c", "d e"]) == "spec.params.a[0].b-c['d e']"


def test_local_refs_are_followed():
    schema = {"$defs": {"day": {"type": "string", "format": "date"}}, "properties": {"date": {"$ref": "#/$defs/day"}}}
    assert validate_params({"date": "2026-01-02"}, schema) is None
    assert validate_params({"date": "soon"}, schema).message == "spec.params.date: 'soon' is not a 'date'"


@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/schema.json", "https://example.com/s.json", "#/$defs/missing"])
def test_refs_that_would_need_fetching_or_lead_nowhere_are_invalid_spec_and_never_fetched(ref):
    problem = validate_params({"x": 1}, {"properties": {"x": {"$ref": ref}}})
    assert problem.reason == "InvalidSpec" and problem.message.startswith("spec.paramsSchema: cannot resolve $ref")


def test_an_invalid_schema_is_reported_before_params_are_validated():
    assert validate_params({"date": 1}, {"type": "strin"}).reason == "InvalidSpec"


def test_params_are_not_coerced():
    assert validate_params({"date": "2026-01-02", "limit": "3"}, SCHEMA).message == (
        "spec.params.limit: '3' is not of type 'integer'"
    )


def test_top_level_defaults_fill_in_params_the_run_does_not_give():
    assert apply_param_defaults({"date": "d"}, SCHEMA) == {"limit": 10, "date": "d"}
    assert apply_param_defaults({"limit": 3}, SCHEMA) == {"limit": 3}
    assert apply_param_defaults({"x": 1}, None) == {"x": 1}
    nested = {"properties": {"o": {"properties": {"inner": {"default": 1}}}}}
    assert apply_param_defaults({}, nested) == {}
