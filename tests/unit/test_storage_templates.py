"""Storage URI templates: one grammar (placeholders only) enforced by the CRD's CEL rule, the models and the
planner; rendering never goes through str.format and stays small."""

import re

import pytest
from pydantic import ValidationError

from kasset.api import AssetSpec, JobSpec
from kasset.api.storage import MAX_PLACEHOLDERS, STORAGE_TEMPLATE_MAX_LENGTH, STORAGE_TEMPLATE_PATTERN
from kasset.planning.storage import find_template_errors, find_unknown_placeholders, render_storage_uri

from kasset_factories import index, make_asset

REJECTED = {
    "file:///data/{asset:>999999999}": "format specs are not supported",
    "file:///data/{asset:{run}}": "unbalanced",
    "file:///data/{asset!r}": "conversions",
    "file:///data/{asset!s:>5}": "conversions",
    "file:///data/{asset.__class__}": "attribute and index access",
    "file:///data/{asset[0]}": "attribute and index access",
    "file:///data/{}": "not a placeholder name",
    "file:///data/{0}": "not a placeholder name",
    "file:///data/{asset": "unbalanced '{' at position 13",
    "file:///data/asset}": "unbalanced '}'",
    "file:///data/" + "{run}" * (MAX_PLACEHOLDERS + 1): f"at most {MAX_PLACEHOLDERS}",
}
ACCEPTED = [
    "file:///data/{namespace}/{asset}/{partition}",
    "s3://bucket/{run}/{step}",
    "file:///data/{{literal}}/{asset}",
    "file:///data/{{{asset}}}",
    "file:///data/" + "{run}" * MAX_PLACEHOLDERS,
    "file:///no/placeholders",
]


def render(template, **values):
    defaults = {"namespace": "ns", "asset": "a", "step": "s", "run": "r", "partition": None}
    return render_storage_uri(template, **(defaults | values))


@pytest.mark.parametrize("template", sorted(REJECTED))
def test_templates_with_anything_but_placeholders_are_rejected_with_the_reason(template):
    errors = find_template_errors(template)
    assert errors and REJECTED[template] in "; ".join(errors)


@pytest.mark.parametrize("template", ACCEPTED)
def test_templates_of_known_placeholders_and_escaped_braces_are_accepted(template):
    assert find_template_errors(template) == []


def test_unknown_placeholders_are_named_with_the_known_ones():
    (error,) = find_template_errors("file:///data/{bucket}/{asset}")
    assert error.startswith("{bucket}: unknown placeholder") and "{namespace}" in error


def test_find_unknown_placeholders_keeps_returning_bare_names_and_now_reports_syntax_problems_too():
    assert find_unknown_placeholders("file:///{bucket}/{zone}/{asset}") == ["bucket", "zone"]
    assert find_unknown_placeholders("file:///{asset}") == []
    assert "format specs are not supported" in find_unknown_placeholders("file:///{asset:>999999999}")[0]
    assert "conversions" in find_unknown_placeholders("file:///{asset!r}")[0]


def test_many_problems_are_listed_up_to_a_bound():
    errors = find_template_errors("x}" * 1000)
    assert len(errors) == 6 and errors[-1] == "and 995 more problems"


def test_rendering_fills_placeholders_and_unescapes_braces():
    assert render("file:///d/{{x}}/{namespace}/{asset}/{partition}/{{{run}}}") == "file:///d/{x}/ns/a/unpartitioned/{r}"
    assert render("file:///d/{asset}", asset=None, step="load") == "file:///d/load"


def test_rendering_does_not_interpret_format_syntax_in_values():
    # inserted as it is, percent-encoded (braces and > change nothing in a path, but are not URI characters)
    assert render("file:///{asset}", asset="{run:>99}") == "file:///{run:%3E99}"


@pytest.mark.parametrize("template", sorted(REJECTED) + ["file:///{bucket}"])
def test_rendering_a_rejected_template_raises_instead_of_formatting(template):
    with pytest.raises(ValueError, match="invalid storage template"):
        render(template)


def test_the_longest_rendering_stays_a_few_kib():
    template = "{run}" * MAX_PLACEHOLDERS
    template += "x" * (STORAGE_TEMPLATE_MAX_LENGTH - len(template))
    uri = render(template, run="r" * 253)
    assert len(uri) <= STORAGE_TEMPLATE_MAX_LENGTH + MAX_PLACEHOLDERS * 253 < 8 * 1024


@pytest.mark.parametrize("template", sorted(REJECTED))
def test_asset_and_job_models_reject_malformed_templates_at_parse_time_naming_the_field(template):
    for model, body in ((AssetSpec, {"container": {"image": "i"}}), (JobSpec, {"steps": []})):
        with pytest.raises(ValidationError) as error:
            model.model_validate(body | {"storage": template})
        assert error.value.errors()[0]["loc"] == ("storage",)


def test_models_leave_unknown_placeholder_names_to_the_planner_which_reports_invalid_spec():
    assert AssetSpec.model_validate({"container": {"image": "i"}, "storage": "file:///{bucket}"}).storage
    from kasset.planning.graph import resolve_step_graph
    from kasset.api import AssetSelection

    assets = index(make_asset("raw", storage="file:///data/{bucket}/{asset}"))
    selection = AssetSelection(assets=["raw"])
    problem = resolve_step_graph(selection=selection, steps=(), assets=assets, max_parallel_steps=1)
    assert problem.reason == "InvalidSpec" and "spec.storage" in problem.message and "bucket" in problem.message


@pytest.mark.parametrize("template", sorted(REJECTED) + ACCEPTED + ["file:///{bucket}", "{{", "}}", "{{}}", "{a{b}}"])
def test_the_cel_pattern_accepts_exactly_what_the_planner_accepts(template):
    """The CRD's rule is RE2 (CEL `matches`); this pattern means the same in Python's re."""
    assert bool(re.match(STORAGE_TEMPLATE_PATTERN, template)) == (find_template_errors(template) == [])


@pytest.mark.parametrize("key", ["..", "../other-team", "a/../../b", "./x", "a\\..\\b", "bad\nkey"])
def test_a_partition_key_that_would_leave_its_prefix_is_refused_by_the_renderer(key):
    with pytest.raises(ValueError, match="path segment|control character"):
        render_storage_uri("file:///data/{namespace}/{asset}/{partition}", namespace="team-a", asset="orders",
                           step="orders", run="r1", partition=key)


def test_characters_that_change_a_uri_are_encoded_and_common_key_characters_kept():
    uri = render_storage_uri("s3://bucket/{asset}/{partition}/", namespace="n", asset="orders", step="orders",
                             run="r", partition="2021-04-01T06:00|eu/a b?c#d%2F")
    assert uri == "s3://bucket/orders/2021-04-01T06:00|eu/a%20b%3Fc%23d%252F/"


def test_dynamic_and_static_keys_with_dot_segments_are_refused_where_they_enter():
    from kasset.planning.partitions import check_dimension_key

    assert "path segment" in check_dimension_key("../etc")
    assert check_dimension_key("2021/orders.csv") is None
    with pytest.raises(ValidationError, match="path segment"):
        AssetSpec.model_validate({"container": {"image": "x"}, "partitions": {
            "dimensions": [{"name": "file", "static": {"keys": ["a.csv", ".."]}}]}})
