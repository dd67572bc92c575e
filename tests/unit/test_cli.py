"""The `kasset` command without a cluster: its commands, the backfill command's arguments and exit codes, the
Backfill's deterministic name, and what re-running it does to an existing Backfill."""

from __future__ import annotations

import pytest

from kasset.cli import main
from kasset.commands.backfill import CommandError, backfill_name, build_backfill, outcome_of, submit, summarize
from kasset.k8s import Conflict


def test_help_lists_the_run_and_backfill_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("run", "backfill"))


@pytest.mark.parametrize(("argv", "words"), [
    (["backfill", "daily"], "--from and --to are required"),
    (["backfill", "daily", "--from", "2021-04-01"], "--from and --to are required"),
    (["backfill", "daily", "--from", "2021-04-01", "--to", "2021-05-01", "--partition", "2021-04-03"],
     "either --from and --to, or --partition"),
    (["backfill", "daily", "--from", "2021-04-01", "--to", "2021-05-01", "--max-concurrent", "0"],
     "--max-concurrent"),
    (["backfill"], "Missing argument 'JOB'"),
])
def test_backfill_usage_errors_exit_2_naming_the_problem_before_touching_a_cluster(argv, words, capsys,
                                                                                 monkeypatch):
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_backfill_without_a_cluster_exits_2_saying_so(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["backfill", "daily", "--from", "2021-04-01", "--to", "2021-05-01", "-n", "team"]) == 2
    assert "no cluster to talk to" in capsys.readouterr().err


def test_the_backfill_is_named_after_job_and_range_as_a_dns_label():
    assert backfill_name("daily", from_="2021-04-01", to="2021-05-01") == "daily-2021-04-01-2021-05-01"
    assert backfill_name("daily", from_="2021-04-01T06:00", to="2021-04-02T06:00").startswith("daily-2021-04-01t06-00")
    long = backfill_name("j" * 80, from_="2021-04-01", to="2021-05-01")
    assert len(long) <= 63 and long != backfill_name("j" * 81, from_="2021-04-01", to="2021-05-01")
    keys = backfill_name("daily", keys=("2021-04-03", "2021-04-01"))
    assert keys.startswith("daily-keys-") and keys == backfill_name("daily", keys=("2021-04-01", "2021-04-03"))


def test_the_backfill_body_names_the_job_and_the_range_or_the_sorted_keys():
    body = build_backfill("b", "daily", from_="2021-04-01", to="2021-05-01", keys=(), max_concurrent=None)
    assert body["spec"] == {"jobRef": {"name": "daily"}, "partitions": {"from": "2021-04-01", "to": "2021-05-01"}}
    body = build_backfill("b", "daily", from_=None, to=None, keys=("b", "a"), max_concurrent=8)
    assert body["spec"]["partitions"] == {"keys": ["a", "b"]} and body["spec"]["maxConcurrentRuns"] == 8


class FakeKube:
    """Backfills in memory: create answers "exists", get returns the held one, patch may conflict once."""

    def __init__(self, held: dict, *, conflicts: int = 0):
        self.held, self.conflicts, self.patches = held, conflicts, []

    def create(self, plural, namespace, body):
        return None, False

    def get(self, plural, namespace, name):
        return self.held

    def patch(self, plural, namespace, name, patch):
        self.patches.append(patch)
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("changed")
        return {**self.held, "spec": {**self.held["spec"], **patch["spec"]}}


def existing(**spec) -> dict:
    return {"metadata": {"name": "b", "resourceVersion": "7", "generation": 3},
            "spec": {"jobRef": {"name": "daily"}, "partitions": {"from": "2021-04-01", "to": "2021-05-01"}, **spec}}


def test_running_the_same_backfill_again_raises_rerun_failed_by_one_guarded_by_the_resource_version():
    kube = FakeKube(existing(rerunFailed=2), conflicts=1)
    body = build_backfill("b", "daily", from_="2021-04-01", to="2021-05-01", keys=(), max_concurrent=None)
    written, created = submit(kube, "team", body)
    assert not created and written["spec"]["rerunFailed"] == 3
    assert kube.patches[-1] == {"metadata": {"resourceVersion": "7"}, "spec": {"rerunFailed": 3}}
    assert len(kube.patches) == 2  # the conflict was retried


def test_an_existing_backfill_of_other_partitions_is_an_error_naming_it():
    body = build_backfill("b", "daily", from_="2021-04-01", to="2021-06-01", keys=(), max_concurrent=None)
    with pytest.raises(CommandError, match="Backfill b exists .* other partitions") as raised:
        submit(FakeKube(existing()), "team", body)
    assert raised.value.exit_code == 2


def status(complete: str, generation: int, **counts) -> dict:
    condition = {"type": "Complete", "status": complete, "reason": "PartitionsFailed", "message": "1 failed"}
    return {"status": {"observedGeneration": generation, "conditions": [condition], **counts}}


def test_the_outcome_is_read_only_from_a_status_of_the_awaited_generation():
    assert outcome_of(status("False", 2), generation=3) is None  # the verdict before the rerun was asked for
    assert outcome_of(status("Unknown", 3), generation=3) is None
    found = outcome_of(status("False", 3, requested=31, succeeded=30, failed=1,
                              failedPartitions=[{"start": "2021-05-10", "end": "2021-05-10", "count": 1}]), 3)
    assert not found.succeeded
    assert summarize("b", found) == ("Backfill b: 30 of 31 partitions succeeded, 1 failed (2021-05-10); run the "
                                     "same command again to re-run them")
