"""Leader election's decisions, on an injected clock: when a replica may take the Lease, when a leader gives up."""

from kasset.runtime.leader import Observed, may_acquire, must_give_up


def test_a_free_lease_or_our_own_may_be_taken_at_once():
    assert may_acquire(Observed(holder=None, at=100), me="a", now=100, lease_seconds=10)
    assert may_acquire(Observed(holder="a", at=100), me="a", now=100, lease_seconds=10)


def test_a_lease_held_by_another_is_taken_only_after_a_whole_lease_without_renewal_seen_here():
    held = Observed(holder="b", renew_time="t1", at=100)
    assert not may_acquire(held, me="a", now=109.9, lease_seconds=10)
    assert may_acquire(held, me="a", now=110, lease_seconds=10)


def test_a_leader_gives_up_once_no_renewal_succeeded_within_the_deadline():
    assert not must_give_up(100, now=107, renew_deadline_seconds=7)
    assert must_give_up(100, now=107.1, renew_deadline_seconds=7)


def test_plain_namespace_names_are_each_watched_alone_and_patterns_cluster_wide():
    from kasset.runtime.controller import NamespaceScope

    assert NamespaceScope(["team-a", "team-b", "team-a"]).watched == ["team-a", "team-b"]
    assert NamespaceScope(["team-*"]).watched == [None]
    assert NamespaceScope([]).watched == [None]
    assert NamespaceScope(["team-a", "it-*"]).watched == [None]
