"""Templates: dotted paths into plain JSON, data in and strings out, with errors that name the field and the
problem."""

from __future__ import annotations

import pytest

from kasset.planning.templates import TemplateError, render, render_params

DATA = {"metadata": {"s3_key": "in/a.zip", "rows": 3, "files": ["a.csv", "b.csv"], "extra": {"x": 1}},
        "tick": {"date": "2026-01-02"}}


def test_a_placeholder_alone_keeps_the_value_type():
    assert render("{{ metadata.rows }}", DATA, field="p") == 3
    assert render("{{metadata.files}}", DATA, field="p") == ["a.csv", "b.csv"]


def test_placeholders_in_text_are_inserted_as_text_and_json():
    assert render("s3://bucket/{{ metadata.s3_key }} on {{ tick.date }}", DATA, field="p") == \
        "s3://bucket/in/a.zip on 2026-01-02"
    assert render("x={{ metadata.extra }} n={{ metadata.rows }}", DATA, field="p") == 'x={"x":1} n=3'


def test_a_number_indexes_a_list():
    assert render("{{ metadata.files.1 }}", DATA, field="p") == "b.csv"


def test_params_render_nested_values_and_leave_other_types():
    params = {"key": "{{ metadata.s3_key }}", "opts": {"day": "{{ tick.date }}", "n": 5},
              "list": ["{{ metadata.rows }}"]}
    assert render_params(params, DATA) == {"key": "in/a.zip", "opts": {"day": "2026-01-02", "n": 5}, "list": [3]}


def test_text_without_placeholders_is_unchanged():
    assert render("plain", DATA, field="p") == "plain"


@pytest.mark.parametrize("template, message", [
    ("{{ metadata.s3_kee }}", "params.key: {{ metadata.s3_kee }}: metadata has no key 's3_kee' "
                              "(it has: extra, files, rows, s3_key)"),
    ("{{ nothing }}", "has no key 'nothing' (it has: metadata, tick)"),
    ("{{ metadata.rows.x }}", "metadata.rows is a int, which has no 'x'"),
    ("{{ metadata.files.7 }}", "metadata.files is a list of 2; '7' is not an index"),
    ("{{ metadata.s3_key | upper }}", "is not a path (dotted names such as metadata.s3_key; templates hold no "
                                      "expressions)"),
    ("{{ __import__('os') }}", "is not a path"),
    ("a {{ metadata.rows", "unbalanced braces"),
])
def test_errors_name_the_field_the_placeholder_and_the_problem(template, message):
    with pytest.raises(TemplateError) as err:
        render_params({"key": template}, DATA)
    assert message in str(err.value)
    assert str(err.value).startswith("params.key: ")
