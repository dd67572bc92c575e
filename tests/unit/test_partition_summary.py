"""Ranges of consecutive partitions, backfill batches per policy, and the bounded summary of partition states."""

import json
from datetime import datetime, timezone

import pytest

from kasset.api.base import to_manifest
from kasset.api.partitions import MAX_SUMMARY_RANGES, BackfillPolicy, PartitionsDefinition
from kasset.planning.partitions import PartitionSpace, batches_for_policy, split_into_batches, summarize, to_ranges

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def space(*dimensions):
    definition = PartitionsDefinition.model_validate({"dimensions": list(dimensions)})
    return PartitionSpace.from_definition(definition, now=NOW)


def days(start="2021-01-01", end=None):
    return {"name": "date", "timeWindow": {"start": start, **({"end": end} if end else {})}}


REGIONS = {"name": "region", "static": {"keys": ["eu", "us"]}}


def spans(ranges):
    return [(r.start, r.end, r.count) for r in ranges]


def test_to_ranges_gives_the_maximal_runs_of_members_in_order():
    keys = ["a", "b", "c", "d", "e", "f"]
    assert spans(to_ranges(keys, {"a", "b", "d", "f"})) == [("a", "b", 2), ("d", "d", 1), ("f", "f", 1)]
    assert to_ranges(keys, set()) == [] and spans(to_ranges(keys, set(keys))) == [("a", "f", 6)]


def test_split_into_batches_cuts_ordered_keys_into_at_most_n():
    assert split_into_batches(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert split_into_batches(list("abcde"), None) == [list("abcde")]
    assert split_into_batches([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        split_into_batches(list("ab"), 0)


def test_multi_run_batches_hold_at_most_n_consecutive_partitions_and_never_span_a_gap():
    found = space(days(end="2021-01-11"))
    wanted = ["2021-01-05", "2021-01-01", "2021-01-02", "2021-01-03", "2021-01-06", "2021-01-09", "1999-01-01"]
    assert batches_for_policy(wanted, BackfillPolicy(type="MultiRun", max_partitions_per_run=2), space=found) == [
        ["2021-01-01", "2021-01-02"], ["2021-01-03"], ["2021-01-05", "2021-01-06"], ["2021-01-09"]
    ]
    assert batches_for_policy(wanted[:3], None, space=found) == [["2021-01-01"], ["2021-01-02"], ["2021-01-05"]]


def test_single_run_makes_one_batch_of_a_range_however_long():
    found = space(days(), REGIONS)
    wanted = found.keys_between("2021-04-01", "2021-05-01")
    batches = batches_for_policy(wanted, BackfillPolicy(type="SingleRun"), space=found)
    assert batches == [wanted] and len(batches[0]) == 60


def test_summary_counts_each_state_and_failed_wins_over_an_older_materialization():
    found = space(days(end="2021-01-11"))
    keys = list(found.keys())
    summary = summarize(found, materialized=set(keys[:6]) | {"2030-01-01"}, failed={keys[5], keys[6]},
                        stale={keys[0], keys[1], keys[6], keys[9]})
    assert (summary.total, summary.materialized, summary.failed, summary.missing, summary.stale) == (10, 5, 2, 3, 2)
    assert spans(summary.materialized_ranges) == [("2021-01-01", "2021-01-05", 5)]
    assert spans(summary.failed_ranges) == [("2021-01-06", "2021-01-07", 2)]
    assert spans(summary.missing_ranges) == [("2021-01-08", "2021-01-10", 3)]
    assert spans(summary.stale_ranges) == [("2021-01-01", "2021-01-02", 2)]
    assert not summary.truncated and summary.omitted_ranges is None


def test_summary_keeps_the_first_ranges_and_says_how_many_it_left_out():
    found = space(days(end="2021-12-31"))
    keys = list(found.keys())
    summary = summarize(found, materialized=set(keys[::2]), failed=set(), stale=set())
    assert len(summary.materialized_ranges) == MAX_SUMMARY_RANGES and summary.truncated
    assert summary.materialized_ranges[0].start == "2021-01-01"
    assert summary.omitted_ranges.materialized == 182 - MAX_SUMMARY_RANGES
    assert summary.omitted_ranges.missing == 182 - MAX_SUMMARY_RANGES and summary.omitted_ranges.stale == 0


def test_summary_of_ten_thousand_days_by_two_regions_stays_far_below_256_kib_in_the_worst_case():
    found = space(days(start="1998-01-01"), REGIONS)
    keys = list(found.keys())
    assert len(keys) >= 20_000
    summary = summarize(found, materialized=set(keys[0::3]) | set(keys[1::3]), failed=set(keys[1::3]),
                        stale=set(keys[0::6]))
    size = len(json.dumps(to_manifest(summary)))
    assert summary.truncated and size < 256 * 1024 / 8
    assert summary.total == len(keys) and summary.materialized + summary.failed + summary.missing == len(keys)


def test_summary_of_an_empty_space_is_all_zero():
    summary = summarize(space(days(start="2030-01-01")), materialized=set(), failed=set(), stale=set())
    assert summary.total == 0 and summary.missing_ranges == [] and not summary.truncated


def test_summary_stays_below_256_kib_even_with_the_longest_keys():
    long_keys = [f"{n:03}" + "k" * 124 for n in range(200)]  # 127 + 1 + 128 = 256 characters
    found = space({"name": "a", "static": {"keys": long_keys}}, {"name": "b", "static": {"keys": ["x" * 128, "y"]}})
    keys = list(found.keys())
    summary = summarize(found, materialized=set(keys[0::4]) | set(keys[1::4]), failed=set(keys[1::4]),
                        stale=set(keys[0::4]))
    assert len(summary.stale_ranges[0].start) == 256 and summary.truncated
    assert len(json.dumps(to_manifest(summary))) < 256 * 1024
