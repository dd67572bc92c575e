"""Partition mappings: the default for two definitions, the upstream partitions each mapping reads (identity,
time windows across cadences and zones, all partitions, offsets, unpartitioned, per dimension), the reverse, and
the problems of mappings that cannot apply."""

from datetime import datetime, timezone

import pytest

from kasset.api.partitions import PartitionMapping, PartitionsDefinition
from kasset.planning.partitions import PartitionSpace, check_mapping, default_mapping, downstream_keys, upstream_keys

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def window(cadence="Daily", name="date", **extra):
    return {"name": name, "timeWindow": {"start": "2021-01-01", "cadence": cadence, **extra}}


def static(name, *keys):
    return {"name": name, "static": {"keys": list(keys)}}


def definition(*dimensions):
    return PartitionsDefinition.model_validate({"dimensions": list(dimensions)})


def space(*dimensions, now=NOW):
    return PartitionSpace.from_definition(definition(*dimensions), now=now)


def mapping(type_=None, **extra):
    return PartitionMapping.model_validate({"type": type_, **extra})


DAILY, MONTHLY = definition(window()), definition(window("Monthly"))


@pytest.mark.parametrize(
    "downstream, upstream, expected",
    [
        (DAILY, None, "Unpartitioned"),
        (None, None, "Unpartitioned"),
        (None, DAILY, "AllPartitions"),
        (MONTHLY, DAILY, "TimeWindow"),
        (DAILY, definition(window(timeZone="Europe/Berlin")), "TimeWindow"),
        (DAILY, definition(window(name="day", start="2024-01-01")), "Identity"),
        (definition(static("region", "eu")), definition(static("region", "eu", "us")), "Identity"),
    ],
)
def test_default_mapping_depends_on_both_definitions(downstream, upstream, expected):
    assert default_mapping(downstream, upstream) == expected


def test_identity_reads_the_same_key_and_drops_keys_the_upstream_lacks():
    downstream, upstream = space(window()), space(window(name="day", start="2021-03-01"))
    assert upstream_keys(None, downstream=downstream, key="2021-04-01", upstream=upstream) == ["2021-04-01"]
    assert upstream_keys(None, downstream=downstream, key="2021-01-15", upstream=upstream) == []


def test_identity_of_several_dimensions_matches_them_by_name_in_upstream_order():
    downstream = space(window(), static("region", "eu", "us"), static("color", "red"))
    upstream = space(static("color", "red", "blue"), window())
    assert upstream_keys(None, downstream=downstream, key="2021-04-01|us|red", upstream=upstream) == ["red|2021-04-01"]
    assert upstream_keys(None, downstream=downstream, key="2021-04-01|eu|red", upstream=space(window())) == [
        "2021-04-01"
    ]


@pytest.mark.parametrize("month, days", [("2021-01-01", 31), ("2021-04-01", 30), ("2024-02-01", 29)])
def test_a_monthly_partition_reads_exactly_the_days_of_its_month(month, days):
    keys = upstream_keys(None, downstream=space(window("Monthly")), key=month, upstream=space(window()))
    assert len(keys) == days and keys[0] == month and keys[-1] == f"{month[:8]}{days}"


def test_a_daily_partition_reads_the_month_holding_it_once_that_month_has_ended():
    assert upstream_keys(None, downstream=space(window()), key="2021-04-15", upstream=space(window("Monthly"))) == [
        "2021-04-01"
    ]
    mid_month = datetime(2021, 4, 20, tzinfo=timezone.utc)
    downstream, upstream = space(window(), now=mid_month), space(window("Monthly"), now=mid_month)
    assert upstream_keys(None, downstream=downstream, key="2021-04-15", upstream=upstream) == []


def test_time_windows_map_in_each_sides_own_time_zone():
    new_york, berlin = space(window(timeZone="America/New_York")), space(window(timeZone="Europe/Berlin"))
    assert upstream_keys(None, downstream=new_york, key="2021-04-01", upstream=berlin) == ["2021-04-01", "2021-04-02"]
    utc_month = space(window("Monthly"))
    keys = upstream_keys(None, downstream=utc_month, key="2021-01-01", upstream=berlin)
    # Berlin's Jan 1st starts Dec 31st 23:00Z, its Feb 1st Jan 31st 23:00Z: both overlap January in UTC.
    assert len(keys) == 32 and keys[0] == "2021-01-01" and keys[-1] == "2021-02-01"


def test_all_partitions_reads_every_upstream_key_and_is_the_default_of_an_unpartitioned_asset():
    upstream = space(window(end="2021-01-04"), static("region", "eu", "us"))
    assert upstream_keys(None, downstream=None, key=None, upstream=upstream) == list(upstream.keys())
    assert len(upstream_keys(mapping("AllPartitions"), downstream=space(window()), key="2021-04-01",
                             upstream=upstream)) == 6


def test_offset_minus_one_reads_the_previous_window_and_drops_windows_outside_the_space():
    days = space(window())
    previous = mapping("Offset", offset=-1)
    assert upstream_keys(previous, downstream=days, key="2021-04-01", upstream=days) == ["2021-03-31"]
    assert upstream_keys(previous, downstream=days, key="2021-01-01", upstream=days) == []
    assert upstream_keys(previous, downstream=days, key="2021-04-15", upstream=space(window("Monthly"))) == [
        "2021-03-01"
    ]


def test_unpartitioned_reads_no_key_of_an_unpartitioned_upstream():
    assert upstream_keys(mapping("Unpartitioned"), downstream=space(window()), key="2021-04-01", upstream=None) == []
    assert upstream_keys(None, downstream=None, key=None, upstream=None) == []


def test_per_dimension_maps_each_dimension_and_reads_all_keys_of_upstream_dimensions_not_named():
    downstream = space(window(), static("region", "eu", "us"))
    upstream = space(window("Monthly", name="month"), static("zone", "us", "eu"), static("tier", "gold", "free"))
    per_dimension = mapping("PerDimension", dimensions=[
        {"name": "date", "upstreamDimension": "month", "type": "TimeWindow"},
        {"name": "region", "upstreamDimension": "zone", "type": "Identity"},
    ])
    assert upstream_keys(per_dimension, downstream=downstream, key="2021-04-15|eu", upstream=upstream) == [
        "2021-04-01|eu|gold", "2021-04-01|eu|free"
    ]
    assert downstream_keys(per_dimension, upstream=upstream, key="2021-02-01|us|free", downstream=downstream) == [
        f"2021-02-{day:02}|us" for day in range(1, 29)
    ]


def test_reverse_mappings_name_the_downstream_partitions_that_read_an_upstream_partition():
    days, months = space(window()), space(window("Monthly"))
    assert downstream_keys(None, upstream=days, key="2021-04-15", downstream=months) == ["2021-04-01"]
    assert len(downstream_keys(None, upstream=months, key="2021-04-01", downstream=days)) == 30
    previous = mapping("Offset", offset=-1)
    assert downstream_keys(previous, upstream=days, key="2021-03-31", downstream=days) == ["2021-04-01"]
    assert downstream_keys(previous, upstream=days, key=days.keys()[-1], downstream=days) == []  # not ended yet
    assert downstream_keys(mapping("AllPartitions"), upstream=days, key="2021-03-31", downstream=months) == list(
        months.keys()
    )
    regions = space(window(), static("region", "eu", "us"))
    assert downstream_keys(None, upstream=days, key="2021-03-31", downstream=regions) == ["2021-03-31|eu",
                                                                                          "2021-03-31|us"]


def test_forward_and_reverse_mappings_agree():
    days, months = space(window(timeZone="Europe/Berlin", end="2021-07-01")), space(window("Monthly"))
    for day in days.keys():
        for month in upstream_keys(None, downstream=days, key=day, upstream=months):
            assert day in downstream_keys(None, upstream=months, key=month, downstream=days)


@pytest.mark.parametrize(
    "declared, downstream, upstream, message",
    [
        (None, definition(static("region", "eu", "fr")), definition(static("region", "eu", "us")),
         "dimension region: Identity between different static keys: fr not in the upstream's keys"),
        ("TimeWindow", definition(static("region", "eu")), definition(static("region", "eu")),
         "TimeWindow maps time windows, and the downstream has no timeWindow dimension"),
        ("Identity", MONTHLY, DAILY, "dimension date: Identity between Monthly (UTC) and Daily (UTC) windows; use "
                                     "TimeWindow"),
        ("Identity", DAILY, definition(static("region", "eu")), "Identity between time-window and static keys"),
        ("Identity", None, DAILY, "the downstream has no partitions: Identity does not apply (AllPartitions does)"),
        ("Unpartitioned", DAILY, DAILY, "the upstream is partitioned"),
        ("AllPartitions", DAILY, None, "the upstream has no partitions"),
        (None, definition(window(), static("region", "eu")), definition(window(), static("zone", "eu")),
         "upstream dimension zone has no downstream dimension of that name (date, region); use PerDimension"),
    ],
)
def test_mappings_that_cannot_apply_are_reported_with_the_problem(declared, downstream, upstream, message):
    assert message in check_mapping(mapping(declared), downstream=downstream, upstream=upstream)


def test_per_dimension_mappings_must_name_existing_dimensions_once():
    downstream, upstream = definition(window(), static("region", "eu")), definition(window())
    unknown = mapping("PerDimension", dimensions=[{"name": "place", "type": "Identity"}])
    assert check_mapping(unknown, downstream=downstream, upstream=upstream) == (
        "dimensions: place is not a downstream dimension (date, region)"
    )
    twice = mapping("PerDimension", dimensions=[{"name": "date", "type": "Identity"},
                                                {"name": "region", "upstreamDimension": "date", "type": "Identity"}])
    assert "mapped more than once" in check_mapping(twice, downstream=downstream, upstream=upstream)


def test_a_mapping_that_cannot_apply_raises_its_problem_when_used():
    with pytest.raises(ValueError, match="Identity between different static keys"):
        upstream_keys(None, downstream=space(static("r", "a", "b")), key="a", upstream=space(static("r", "a")))


def test_a_key_outside_the_downstream_space_is_refused_naming_it():
    with pytest.raises(ValueError, match='partition "2020-01-01": dimension date: before start'):
        upstream_keys(None, downstream=space(window()), key="2020-01-01", upstream=space(window()))


def test_mapping_fields_are_checked_by_the_model():
    with pytest.raises(ValueError, match="dimensions are required when type is PerDimension"):
        mapping("PerDimension")
    with pytest.raises(ValueError, match="offset applies to type Offset only"):
        mapping("Identity", offset=1)
    assert mapping().type is None and mapping("Unpartitioned").type == "Unpartitioned"
