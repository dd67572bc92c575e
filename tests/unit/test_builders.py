"""The batch/v1 Job built for a step: name, ownership, labels, restricted security, retries, fan-out."""

from kasset.planning.names import step_job_name as job_name
from kasset.builders import BuildSettings, build_step_job, select_run_jobs
from kasset.planning import StepResult, plan_run

from kasset_factories import T0, index, make_asset, make_job, make_run, succeeded, with_status

ASSETS = index(
    make_asset(
        "raw",
        retry={"limit": 2},
        timeoutSeconds=600,
        volumes=[{"name": "data", "hostPath": {"path": "/var/lib/kasset-data", "type": "DirectoryOrCreate"}}],
        container={
            "image": "kasset/steps:dev",
            "imagePullPolicy": "Never",
            "command": ["python3", "-m", "steps.raw"],
            "env": [{"name": "LOG_LEVEL", "value": "debug"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        },
    )
)


def first_job(run=None, assets=ASSETS, settings=BuildSettings(), job=None):
    run = run or make_run("run-1", job=None, selection={"assets": ["raw"]}, partition="2026-01-01T00:00")
    launch = plan_run(run=run, job=job, assets=assets, observed={}, now=T0).launches[0]
    return build_step_job(launch, run=run, settings=settings)


def pod_of(job):
    return job["spec"]["template"]["spec"]


def test_job_is_named_deterministically_and_owned_by_the_run():
    job = first_job()
    assert job["metadata"]["name"] == job_name("run-1", "raw")
    assert job["metadata"]["ownerReferences"] == [
        {"apiVersion": "kasset.dev/v1alpha1", "kind": "Run", "name": "run-1", "uid": "uid-run-1", "controller": True, "blockOwnerDeletion": True}
    ]


def test_job_and_pods_carry_sanitized_labels_and_exact_annotations():
    job = first_job()
    labels = job["metadata"]["labels"]
    assert labels["kasset.dev/run"] == "run-1" and labels["kasset.dev/step"] == "raw" and labels["kasset.dev/asset"] == "raw"
    assert labels["kasset.dev/partition"] != "2026-01-01T00:00" and ":" not in labels["kasset.dev/partition"]
    assert job["metadata"]["annotations"]["kasset.dev/partition"] == "2026-01-01T00:00"
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert select_run_jobs("run-1") == "app.kubernetes.io/managed-by=kasset,kasset.dev/run=run-1"


def test_pod_meets_the_restricted_profile_and_mounts_no_token():
    pod = pod_of(first_job())
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"


def test_named_service_account_gets_its_token():
    asset = make_asset("raw", container={"image": "i", "serviceAccountName": "reader"})
    pod = pod_of(first_job(assets=index(asset)))
    assert pod["serviceAccountName"] == "reader" and pod["automountServiceAccountToken"] is True


def test_retries_and_deadline_are_the_jobs_own():
    spec = first_job()["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["completions"]) == (2, 600, 1)
    assert "ttlSecondsAfterFinished" not in spec
    assert spec["podFailurePolicy"]["rules"][0]["action"] == "Ignore"


def test_container_gets_the_contract_env_before_its_own_and_its_volumes():
    pod = pod_of(first_job())
    (container,) = pod["containers"]
    names = [e["name"] for e in container["env"]]
    assert names[:3] == ["KASSET_NAMESPACE", "KASSET_RUN", "KASSET_STEP"] and names[-1] == "LOG_LEVEL"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["KASSET_PARTITION"] == "2026-01-01T00:00" and env["KASSET_PARAMS"] == "{}"
    assert env["KASSET_OUTPUT_URI"] == "file:///var/lib/kasset/team/assets/raw/2026-01-01T00:00"
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
    assert pod["volumes"] == [{"name": "data", "hostPath": {"path": "/var/lib/kasset-data", "type": "DirectoryOrCreate"}}]
    assert (container["image"], container["imagePullPolicy"]) == ("kasset/steps:dev", "Never")
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"}}


def test_node_selector_tolerations_and_pod_annotations_come_from_settings():
    settings = BuildSettings(
        node_selector={"kasset.dev/node-kind": "kwok"},
        tolerations=({"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"},),
        pod_annotations={"example.com/team": "data"},
        run_as_user=None,
    )
    job = first_job(settings=settings)
    pod = pod_of(job)
    assert pod["nodeSelector"] == {"kasset.dev/node-kind": "kwok"}
    assert pod["tolerations"][0]["key"] == "kwok.x-k8s.io/node"
    assert "runAsUser" not in pod["securityContext"]
    assert job["spec"]["template"]["metadata"]["annotations"]["example.com/team"] == "data"


def test_fan_out_step_is_an_indexed_job_with_per_index_retries():
    job_spec = make_job(
        steps=[
            {"name": "unzip", "container": {"image": "i"}},
            {"name": "each", "container": {"image": "i"}, "fanOut": {"fromStep": "unzip"}, "retry": {"limit": 3}},
        ],
        maxParallelSteps=4,
    )
    run = make_run()
    run = with_status(run, plan_run(run=run, job=job_spec, assets={}, observed={}, now=T0).status)
    observed = succeeded(job_name("run-1", "unzip"), result=StepResult(items=tuple(range(10)), item_count=10))
    launch = plan_run(run=run, job=job_spec, assets={}, observed={observed.name: observed}, now=T0).launches[0]
    spec = build_step_job(launch, run=run)["spec"]
    assert spec["completionMode"] == "Indexed"
    assert (spec["completions"], spec["parallelism"], spec["backoffLimitPerIndex"]) == (10, 4, 3)
    assert "backoffLimit" not in spec
    env = {e["name"]: e["value"] for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["KASSET_ITEMS"] == "[0,1,2,3,4,5,6,7,8,9]"
    assert "KASSET_ASSET" not in env
