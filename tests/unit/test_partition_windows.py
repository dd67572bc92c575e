"""Time-window dimensions: windows across DST changes, month ends and leap years, weeks, cron ticks, and which
windows exist at `now`. The clock is injected; nothing sleeps."""

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from kasset.api.partitions import PartitionsDefinition, TimeWindowDimension
from kasset.planning.partitions import PartitionError, PartitionSpace

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def space(*, now=NOW, **window):
    definition = PartitionsDefinition.model_validate({"dimensions": [{"name": "date", "timeWindow": window}]})
    return PartitionSpace.from_definition(definition, now=now)


def hours(window):
    start, end = window
    return (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)) / timedelta(hours=1)


def keys_on(found, day):
    return [key for key in found.keys() if key.startswith(day)]


@pytest.mark.parametrize(
    "zone, spring, fall",
    [("Europe/Berlin", "2021-03-28", "2021-10-31"), ("America/New_York", "2021-03-14", "2021-11-07")],
)
def test_daily_windows_last_23_hours_on_spring_forward_and_25_on_fall_back(zone, spring, fall):
    days = space(start="2021-01-01", timeZone=zone)
    assert hours(days.window(spring)) == 23
    assert hours(days.window(fall)) == 25
    assert hours(days.window("2021-06-01")) == 24
    assert days.window(spring)[0].isoformat().startswith(f"{spring}T00:00:00")


@pytest.mark.parametrize(
    "zone, spring, fall",
    [("Europe/Berlin", "2021-03-28", "2021-10-31"), ("America/New_York", "2021-03-14", "2021-11-07")],
)
def test_hourly_windows_number_23_and_25_on_dst_days_each_one_hour_long(zone, spring, fall):
    hourly = space(start="2021-01-01", timeZone=zone, cadence="Hourly")
    assert len(keys_on(hourly, spring)) == 23
    assert len(keys_on(hourly, fall)) == 25
    assert {hours(hourly.window(key)) for key in keys_on(hourly, fall)} == {1}


def test_the_repeated_hour_of_fall_back_gives_two_keys_told_apart_by_their_offset():
    hourly = space(start="2021-01-01", timeZone="America/New_York", cadence="Hourly")
    assert keys_on(hourly, "2021-11-07T01") == ["2021-11-07T01:00-04:00", "2021-11-07T01:00-05:00"]
    first, second = (hourly.window(key) for key in keys_on(hourly, "2021-11-07T01"))
    assert first[1] == second[0] and first[0].isoformat() == "2021-11-07T01:00:00-04:00"
    assert hourly.index_of("2021-11-07T01:00-05:00") == hourly.index_of("2021-11-07T01:00-04:00") + 1


def test_the_skipped_hour_of_spring_forward_has_no_key():
    hourly = space(start="2021-01-01", timeZone="Europe/Berlin", cadence="Hourly")
    assert "2021-03-28T01:00+01:00" in hourly and "2021-03-28T03:00+02:00" in hourly
    assert hourly.index_of("2021-03-28T03:00+02:00") == hourly.index_of("2021-03-28T01:00+01:00") + 1
    assert "expected 2021-03-28T03:00+02:00" in hourly.validate_key("2021-03-28T02:00+01:00")


@pytest.mark.parametrize(
    "cadence, first, last",
    [
        ("Hourly", "2021-01-01T00:00:00+01:00", "2022-01-01T00:00:00+01:00"),
        ("Daily", "2021-01-01T00:00:00+01:00", "2022-01-01T00:00:00+01:00"),
        ("Weekly", "2021-01-04T00:00:00+01:00", "2021-12-27T00:00:00+01:00"),  # ISO weeks within [start, end)
        ("Monthly", "2021-01-01T00:00:00+01:00", "2022-01-01T00:00:00+01:00"),
    ],
)
def test_consecutive_windows_tile_the_timeline_without_gap_or_overlap(cadence, first, last):
    found = space(start="2021-01-01", end="2022-01-01", timeZone="Europe/Berlin", cadence=cadence)
    windows = [found.window(key) for key in found.keys()]
    assert all(before[1] == after[0] for before, after in zip(windows, windows[1:]))
    assert windows[0][0].isoformat() == first and windows[-1][1].isoformat() == last
    assert sum(hours(window) for window in windows) == hours((windows[0][0], windows[-1][1]))


def test_leap_day_2024_is_a_partition_and_2023_02_29_is_not_a_key():
    days = space(start="2023-01-01")
    assert "2024-02-29" in days
    assert days.validate_key("2023-02-29") == (
        'partition "2023-02-29": dimension date: not a Daily key (format %Y-%m-%d)'
    )


def test_monthly_windows_cover_february_2024_and_january_2021_in_full():
    months = space(start="2021-01-01", cadence="Monthly", timeZone="Europe/Berlin")
    assert months.keys()[:2] == ("2021-01-01", "2021-02-01")
    assert hours(months.window("2024-02-01")) == 29 * 24
    assert hours(months.window("2021-01-01")) == 31 * 24
    assert hours(months.window("2021-03-01")) == 31 * 24 - 1  # spring forward on March 28th
    assert "does not start a Monthly window" in months.validate_key("2021-01-15")


def test_weekly_windows_start_on_monday_and_the_first_one_starts_at_or_after_start():
    weeks = space(start="2021-01-01", cadence="Weekly")  # a Friday
    assert weeks.keys()[:2] == ("2021-01-04", "2021-01-11")
    assert all(datetime.fromisoformat(key).weekday() == 0 for key in weeks.keys())
    assert weeks.validate_key("2021-01-05") == (
        'partition "2021-01-05": dimension date: 2021-01-05 does not start a Weekly window (windows start on Monday '
        "at 00:00)"
    )


def test_cron_windows_run_from_tick_to_tick_in_local_time():
    ticks = space(start="2021-01-01", end="2021-01-08", cadence="Cron", cron="0 6 * * 1-5", timeZone="Europe/Berlin")
    assert ticks.keys() == ("2021-01-01T06:00", "2021-01-04T06:00", "2021-01-05T06:00", "2021-01-06T06:00")
    assert hours(ticks.window("2021-01-01T06:00")) == 72
    assert ticks.window("2021-01-04T06:00")[0].isoformat() == "2021-01-04T06:00:00+01:00"


def test_a_cron_tick_in_the_skipped_hour_does_not_happen_and_one_in_the_repeated_hour_happens_once():
    spring = space(start="2021-03-26", end="2021-03-31", cadence="Cron", cron="30 2 * * *", timeZone="Europe/Berlin")
    assert spring.keys() == ("2021-03-26T02:30", "2021-03-27T02:30", "2021-03-29T02:30")
    assert hours(spring.window("2021-03-27T02:30")) == 47
    fall = space(start="2021-10-30", end="2021-11-02", cadence="Cron", cron="30 2 * * *", timeZone="Europe/Berlin")
    assert fall.keys() == ("2021-10-30T02:30", "2021-10-31T02:30")
    assert fall.window("2021-10-31T02:30")[0].isoformat() == "2021-10-31T02:30:00+02:00"  # the first occurrence
    assert hours(fall.window("2021-10-31T02:30")) == 25


def test_only_windows_that_have_ended_by_now_exist():
    now = datetime(2021, 1, 3, 12, tzinfo=timezone.utc)
    days = space(start="2021-01-01", now=now)
    assert days.keys() == ("2021-01-01", "2021-01-02")
    assert days.validate_key("2021-01-03") == (
        'partition "2021-01-03": dimension date: its window has not ended yet (it ends 2021-01-04T00:00:00+00:00)'
    )
    assert space(start="2021-01-01", now=datetime(2021, 1, 4, tzinfo=timezone.utc)).keys()[-1] == "2021-01-03"


def test_end_is_exclusive_and_a_start_inside_a_window_skips_that_window():
    days = space(start="2021-01-01T06:00", end="2021-01-05")
    assert days.keys() == ("2021-01-02", "2021-01-03", "2021-01-04")
    assert days.validate_key("2021-01-05").endswith("at or after end 2021-01-05")
    assert days.validate_key("2021-01-01").endswith("before start 2021-01-01T06:00")


def test_a_window_ending_after_end_is_not_a_partition():
    months = space(start="2021-01-01", end="2021-03-15", cadence="Monthly")
    assert months.keys() == ("2021-01-01", "2021-02-01")
    assert months.validate_key("2021-03-01").endswith("its window ends after end 2021-03-15")


def test_a_space_whose_time_window_starts_in_the_future_is_empty():
    assert len(space(start="2030-01-01")) == 0 and space(start="2030-01-01").keys() == ()


def test_a_custom_format_names_the_keys_and_must_tell_windows_apart():
    assert space(start="2021-01-01", format="%Y%m%d", end="2021-01-03").keys() == ("20210101", "20210102")
    with pytest.raises(ValidationError, match="does not tell two Daily windows apart"):
        TimeWindowDimension.model_validate({"start": "2021-01-01", "format": "%Y-%m"})
    with pytest.raises(ValidationError, match="an Hourly format needs %z"):
        TimeWindowDimension.model_validate({"start": "2021-01-01", "cadence": "Hourly", "format": "%Y%m%d%H",
                                            "timeZone": "Europe/Berlin"})
    assert TimeWindowDimension.model_validate({"start": "2021-01-01", "cadence": "Hourly", "format": "%Y%m%d%H"})


@pytest.mark.parametrize(
    "window, message",
    [
        ({"start": "2021-01-01", "cadence": "Cron"}, "cron is required when cadence is Cron"),
        ({"start": "2021-01-01", "cron": "0 6 * * *"}, "cron is required when cadence is Cron"),
        ({"start": "2021-01-01", "cadence": "Cron", "cron": "0 6 * * * *"}, "not a 5-field cron expression"),
        ({"start": "2021-01-01", "cadence": "Cron", "cron": "0 0 30 2 *"}, "never fires"),
        ({"start": "2021-01-01", "timeZone": "Europe/Nowhere"}, "not an IANA time zone"),
        ({"start": "2021-02-30"}, "day is out of range"),
        ({"start": "2021-01-01T06:00Z"}, "should match pattern"),
        ({"start": "2021-01-02", "end": "2021-01-01"}, "end must come after start"),
    ],
)
def test_invalid_time_windows_are_refused_naming_the_problem(window, message):
    with pytest.raises(ValidationError, match=message):
        TimeWindowDimension.model_validate(window)


def test_a_minutely_cron_over_years_is_refused_rather_than_enumerated():
    with pytest.raises(PartitionError, match="more than 250000"):
        space(start="2020-01-01", cadence="Cron", cron="* * * * *")


def test_cron_windows_over_years_enumerate_quickly():
    every_quarter_hour = space(start="2021-01-01", end="2022-01-01", cadence="Cron", cron="*/15 * * * *",
                               timeZone="America/New_York")
    assert len(every_quarter_hour) == 365 * 96 - 4  # spring forward skips 4 ticks, fall back repeats none
    assert hours(every_quarter_hour.window("2021-11-07T01:45")) == 1.25
