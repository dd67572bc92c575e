"""Partition spaces: keys of several dimensions in order, key checks that name the dimension, ranges of keys,
the keys of a time range for backfills, dynamic keys, speed, and the definition's schema rules."""

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from kasset.api.partitions import PartitionDimension, PartitionsDefinition, PartitionMapping
from kasset.api.schema import build_structural_schema, find_structural_errors, walk_schema
from kasset.planning.partitions import PartitionSpace, check_dimension_key

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def daily(name="date", **window):
    return {"name": name, "timeWindow": {"start": "2021-01-01", **window}}


def static(name, *keys):
    return {"name": name, "static": {"keys": list(keys)}}


def space(*dimensions, now=NOW, dynamic_keys=None):
    definition = PartitionsDefinition.model_validate({"dimensions": list(dimensions)})
    return PartitionSpace.from_definition(definition, now=now, dynamic_keys=dynamic_keys or {})


def test_keys_of_three_dimensions_are_joined_with_a_bar_the_first_dimension_varying_slowest():
    found = space(daily(end="2021-01-03"), static("region", "eu", "us"), static("color", "red", "blue"))
    assert found.keys() == (
        "2021-01-01|eu|red", "2021-01-01|eu|blue", "2021-01-01|us|red", "2021-01-01|us|blue",
        "2021-01-02|eu|red", "2021-01-02|eu|blue", "2021-01-02|us|red", "2021-01-02|us|blue",
    )
    assert len(found) == 8 and found.dimensions == ("date", "region", "color")
    assert found.split("2021-01-02|us|red") == {"date": "2021-01-02", "region": "us", "color": "red"}


def test_index_of_and_key_at_agree_with_the_order_of_keys():
    found = space(static("region", "eu", "us"), daily(end="2021-02-01"), static("color", "red", "blue", "green"))
    assert all(found.index_of(key) == index and found.key_at(index) == key for index, key in enumerate(found.keys()))


def test_a_time_dimension_need_not_come_first_and_its_window_is_found_from_any_key():
    found = space(static("region", "eu", "us"), daily(end="2021-01-03", timeZone="Europe/Berlin"))
    assert found.keys() == ("eu|2021-01-01", "eu|2021-01-02", "us|2021-01-01", "us|2021-01-02")
    start, end = found.window("us|2021-01-02")
    assert start.isoformat() == "2021-01-02T00:00:00+01:00" and end.isoformat() == "2021-01-03T00:00:00+01:00"
    assert found.time_dimension == "date"


def test_a_space_without_time_dimension_has_no_windows():
    found = space(static("region", "eu", "us"))
    assert found.window("eu") is None and found.time_dimension is None
    with pytest.raises(ValueError, match="needs a time-window dimension"):
        found.keys_between("2021-01-01", "2021-02-01")


@pytest.mark.parametrize(
    "key, message",
    [
        ("2021-13-01|eu", 'partition "2021-13-01|eu": dimension date: not a Daily key (format %Y-%m-%d)'),
        ("2020-12-31|eu", 'partition "2020-12-31|eu": dimension date: before start 2021-01-01'),
        ("2021-1-1|eu", 'partition "2021-1-1|eu": dimension date: not a Daily key (format %Y-%m-%d): expected '
                        "2021-01-01"),
        ("2021-01-01|fr", "partition \"2021-01-01|fr\": dimension region: unknown static key 'fr' (keys: eu, us)"),
        ("2021-01-01", 'partition "2021-01-01": has 1 dimension keys, expected 2 (date|region)'),
        ("2021-01-01|eu|x", 'partition "2021-01-01|eu|x": has 3 dimension keys, expected 2 (date|region)'),
        ("x" * 300, "longer than 256 characters"),
    ],
)
def test_validate_key_names_the_dimension_and_the_problem(key, message):
    found = space(daily(), static("region", "eu", "us"))
    assert message in found.validate_key(key)
    assert not found.contains(key)
    with pytest.raises(ValueError, match="partition"):
        found.index_of(key)


def test_a_valid_key_has_no_problem():
    found = space(daily(), static("region", "eu", "us"))
    assert found.validate_key("2021-04-01|us") is None and "2021-04-01|us" in found


def test_keys_in_range_are_inclusive_and_in_order():
    found = space(daily(), static("region", "eu", "us"))
    assert found.keys_in_range("2021-01-31|us", "2021-02-01|us") == ("2021-01-31|us", "2021-02-01|eu", "2021-02-01|us")
    assert found.keys_in_range("2021-02-01|eu", "2021-01-31|us") == ()
    with pytest.raises(ValueError, match="before start"):
        found.keys_in_range("2020-01-01|eu", "2021-01-01|eu")


@pytest.mark.parametrize(
    "start, end",
    [
        ("2021-04-01", "2021-05-01"),
        (date(2021, 4, 1), date(2021, 5, 1)),
        (datetime(2021, 4, 1), datetime(2021, 5, 1)),  # naive: local time of the dimension's zone
        (datetime(2021, 3, 31, 22, tzinfo=timezone.utc), datetime(2021, 4, 30, 22, tzinfo=timezone.utc)),
    ],
)
def test_keys_between_gives_the_30_days_of_april_for_a_half_open_range(start, end):
    found = space(daily(timeZone="Europe/Berlin"))
    keys = found.keys_between(start, end)
    assert len(keys) == 30 and keys[0] == "2021-04-01" and keys[-1] == "2021-04-30"


def test_keys_between_takes_every_key_of_the_other_dimensions():
    found = space(daily(), static("region", "eu", "us"))
    assert found.keys_between("2021-04-01", "2021-04-03") == ["2021-04-01|eu", "2021-04-01|us", "2021-04-02|eu",
                                                               "2021-04-02|us"]


def test_keys_between_counts_windows_by_their_start_and_stops_at_the_partitions_that_exist():
    hourly = space(daily(cadence="Hourly"), now=datetime(2021, 1, 2, 5, 30, tzinfo=timezone.utc))
    assert hourly.keys_between("2021-01-01T22:30", "2031-01-01") == [
        "2021-01-01T23:00+00:00", "2021-01-02T00:00+00:00", "2021-01-02T01:00+00:00", "2021-01-02T02:00+00:00",
        "2021-01-02T03:00+00:00", "2021-01-02T04:00+00:00",
    ]
    assert hourly.keys_between("2020-01-01", "2021-01-01T02:00") == ["2021-01-01T00:00+00:00", "2021-01-01T01:00+00:00"]


def test_dynamic_keys_are_the_manifests_then_the_added_ones_without_repeats_or_invalid_keys():
    dynamic = {"name": "customer", "dynamic": {"keys": ["acme"], "addedBy": "customers"}}
    found = space(dynamic, dynamic_keys={"customer": ["globex", "acme", "a|b", "initech", "globex"]})
    assert found.keys() == ("acme", "globex", "initech")
    assert "unknown dynamic key 'hooli'" in found.validate_key("hooli")
    assert len(space(dynamic)) == 1


def test_dimension_keys_are_checked_for_reported_dynamic_keys():
    assert check_dimension_key("eu") is None
    assert "contains | or ," in check_dimension_key("a,b")
    assert "empty" in check_dimension_key("")
    assert "longer than 128" in check_dimension_key("k" * 129)


def test_ten_thousand_days_by_two_keys_enumerate_and_index_in_well_under_a_second():
    began = time.perf_counter()
    found = space(daily(start="1998-01-01"), static("region", "eu", "us"))
    keys = found.keys()
    middle = found.index_of(keys[len(keys) // 2])
    assert len(keys) >= 20_000 and middle == len(keys) // 2
    assert all(found.contains(key) for key in keys[::97])
    assert time.perf_counter() - began < 0.8


def test_hourly_keys_index_without_scanning():
    found = space(daily(cadence="Hourly", timeZone="America/New_York"))
    last = found.keys()[-1]
    began = time.perf_counter()
    for _ in range(1000):
        found.index_of(last)
    assert time.perf_counter() - began < 0.5


@pytest.mark.parametrize(
    "dimensions, message",
    [
        ([{"name": "date"}], "exactly one of timeWindow, static and dynamic"),
        ([{"name": "date", "static": {"keys": ["a"]}, "dynamic": {}}], "exactly one of timeWindow, static and dynamic"),
        ([daily("a"), daily("b")], "at most one dimension may be a timeWindow"),
        ([static("region", "eu", "eu")], "eu listed more than once"),
        ([static("region", "e|u")], "should match pattern"),
        ([static("region", "")], "at least 1 character"),
        ([static("Region", "eu")], "should match pattern"),
        ([static("r", "a"), static("r", "b")], "names must be unique"),
        ([static(f"d{i}", "a") for i in range(9)], "at most 8 items"),
        ([], "at least 1 item"),
    ],
)
def test_invalid_definitions_are_refused_naming_the_problem(dimensions, message):
    with pytest.raises(ValidationError, match=message):
        PartitionsDefinition.model_validate({"dimensions": dimensions})


def rules(model):
    return {rule["message"]: rule["rule"] for _, node in walk_schema(build_structural_schema(model))
            for rule in node.get("x-kubernetes-validations", [])}


def test_the_crd_schema_is_structural_and_carries_the_same_rules_as_the_models():
    for model in (PartitionsDefinition, PartitionMapping):
        assert find_structural_errors(build_structural_schema(model)) == []
    found = rules(PartitionsDefinition)
    one_time_window = "self.dimensions.filter(d, has(d.timeWindow)).size() <= 1"
    assert found["at most one dimension may be a timeWindow"] == one_time_window
    assert "exists_one" in found["a dimension has exactly one of timeWindow, static and dynamic"]
    assert "cron is required when cadence is Cron, and only then" in found
    schema = build_structural_schema(PartitionDimension)
    keys = schema["properties"]["static"]["properties"]["keys"]
    assert keys["x-kubernetes-list-type"] == "set" and keys["maxItems"] == 10_000
    assert keys["items"]["pattern"] == "^[^|,]+$" and keys["items"]["maxLength"] == 128
    dimensions = build_structural_schema(PartitionsDefinition)["properties"]["dimensions"]
    assert dimensions["x-kubernetes-list-map-keys"] == ["name"] and dimensions["maxItems"] == 8


def test_every_field_has_a_description_for_the_crd_reference():
    for model in (PartitionsDefinition, PartitionMapping):
        for path, node in walk_schema(build_structural_schema(model)):
            if path and not path.endswith("[]"):
                assert node.get("description"), f"{model.__name__}{path} has no description"


def test_a_space_is_built_for_its_now_only():
    found = space(daily(), now=datetime(2021, 1, 10, tzinfo=timezone.utc))
    later = space(daily(), now=datetime(2021, 1, 10, tzinfo=timezone.utc) + timedelta(days=1))
    assert len(found) == 9 and len(later) == 10


def test_definitions_whose_keys_could_exceed_256_characters_are_refused():
    with pytest.raises(ValidationError, match="partition keys could be 268 characters long, more than 256"):
        PartitionsDefinition.model_validate({"dimensions": [static("a", "a" * 128), static("b", "b" * 128),
                                                            daily()]})


def test_added_dynamic_keys_too_long_for_the_partition_key_are_left_out():
    dynamic = {"name": "customer", "dynamic": {"keys": []}}
    found = space(static("region", "r" * 128), daily(end="2021-01-02"), dynamic,
                  dynamic_keys={"customer": ["c" * 116, "c" * 117]})
    assert [len(key) for key in found.keys()] == [256]
