"""Observed state of step Jobs, read from the dicts the API server returns (no cluster)."""

from kasset.reconcilers.observe import observe_jobs


def job(name: str, *, conditions=(), indexed: bool = False, **status) -> dict:
    spec = {"completionMode": "Indexed"} if indexed else {}
    return {"metadata": {"name": name}, "spec": spec,
            "status": {"conditions": [{"type": t, "status": "True", **extra} for t, extra in conditions], **status}}


def pod(job_name: str, phase: str, message: str | None, finished: str = "2026-01-01T00:00:01Z") -> dict:
    terminated = {"exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": finished}
    if message is not None:
        terminated["message"] = message
    return {"metadata": {"labels": {"batch.kubernetes.io/job-name": job_name}},
            "status": {"phase": phase, "containerStatuses": [{"state": {"terminated": terminated}}]}}


def test_complete_job_carries_the_result_its_succeeded_pod_reported():
    observed = observe_jobs(
        [job("r-a", conditions=[("Complete", {})], succeeded=1, completionTime="2026-01-01T00:00:02Z")],
        [pod("r-a", "Succeeded", '{"dataVersion": "v7", "metadata": {"rows": 3}}'), pod("other", "Succeeded", "{}")],
    )
    a = observed["r-a"]
    assert a.is_complete and not a.is_failed
    assert a.result.data_version == "v7" and a.result.metadata == {"rows": 3}
    assert a.completion_time.isoformat() == "2026-01-01T00:00:02+00:00"


def test_failed_job_takes_the_message_of_its_last_failed_pod():
    observed = observe_jobs(
        [job("r-b", conditions=[("Failed", {"reason": "BackoffLimitExceeded", "message": "limit reached"})], failed=2)],
        [pod("r-b", "Failed", "first try", "2026-01-01T00:00:01Z"),
         pod("r-b", "Failed", "second try", "2026-01-01T00:00:09Z")],
    )
    b = observed["r-b"]
    assert b.is_failed and b.failure_reason == "BackoffLimitExceeded"
    assert b.failure_message == "second try" and b.failed_pods == 2


def test_failed_job_without_pod_messages_falls_back_to_the_condition_message():
    observed = observe_jobs([job("r-c", conditions=[("Failed", {"message": "deadline exceeded"})])], [])
    assert observed["r-c"].failure_message == "deadline exceeded"


def test_failure_target_alone_is_not_an_outcome():
    observed = observe_jobs([job("r-d", conditions=[("FailureTarget", {})], active=1)], [])
    assert not observed["r-d"].is_failed and not observed["r-d"].is_complete
    assert observed["r-d"].active_pods == 1


def test_indexed_job_reports_no_single_result():
    observed = observe_jobs([job("r-e", conditions=[("Complete", {})], indexed=True, succeeded=3)],
                            [pod("r-e", "Succeeded", '{"metadata": {"rows": 1}}')])
    assert observed["r-e"].result is None and observed["r-e"].succeeded_pods == 3
