"""Leader election's decisions, on an injected clock: when a replica may take the Lease, when a leader gives up."""

import pytest

from kasset.runtime.leader import Observed, Timing, may_acquire, must_give_up


def test_a_free_lease_or_our_own_may_be_taken_at_once():
    assert may_acquire(Observed(holder=None, at=100), me="a", now=100, lease_seconds=10)
    assert may_acquire(Observed(holder="a", at=100), me="a", now=100, lease_seconds=10)


def test_a_lease_held_by_another_is_taken_only_after_a_whole_lease_without_renewal_seen_here():
    held = Observed(holder="b", renew_time="t1", at=100)
    assert not may_acquire(held, me="a", now=109.9, lease_seconds=10)
    assert may_acquire(held, me="a", now=110, lease_seconds=10)


def test_a_leader_gives_up_at_the_deadline_when_no_renewal_succeeded_before_it():
    assert not must_give_up(100, now=106.9, renew_deadline_seconds=7)
    assert must_give_up(100, now=107, renew_deadline_seconds=7)


def test_each_lease_call_takes_at_most_a_quarter_of_the_renew_deadline():
    assert Timing().call_timeout_seconds == 7 / 4
    assert Timing(lease_seconds=30, renew_deadline_seconds=20, retry_seconds=4).call_timeout_seconds == 5


@pytest.mark.parametrize("lease, deadline, retry", [(7, 7, 2), (10, 11, 2), (10, 7, 7), (10, 7, 0)])
def test_timings_that_could_overlap_two_leaders_are_refused(lease, deadline, retry):
    with pytest.raises(ValueError):
        Timing(lease_seconds=lease, renew_deadline_seconds=deadline, retry_seconds=retry)


def test_plain_namespace_names_are_each_watched_alone_and_patterns_cluster_wide():
    from kasset.runtime.controller import NamespaceScope

    assert NamespaceScope(["team-a", "team-b", "team-a"]).watched == ["team-a", "team-b"]
    assert NamespaceScope(["team-*"]).watched == [None]
    assert NamespaceScope([]).watched == [None]
    assert NamespaceScope(["team-a", "it-*"]).watched == [None]


def test_settings_refuse_a_renew_deadline_not_shorter_than_the_lease():
    from kasset.settings import Settings

    with pytest.raises(ValueError, match="leader_renew_deadline_seconds"):
        Settings(leader_lease_seconds=10, leader_renew_deadline_seconds=10)
