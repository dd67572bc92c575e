"""The examples in manifests/examples are valid, self-contained, and their steps work (no cluster).

Each folder must be applicable with `kubectl apply -n <namespace> -f <folder>/`: every document parses, has no
namespace, every Kasset object validates against the models without unknown (silently dropped) fields, the
folder holds exactly one Run and everything that Run needs. The last tests run each example end to end on this
machine: the real planner decides the launches, and each launch's container command runs as a local process
with the step contract's environment (storage under a temporary folder instead of the /data volume).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kasset import sdk
from kasset.api import Asset, Job, Run, find_condition
from kasset.api.backfill import Backfill
from kasset.api.schedule import Schedule
from kasset.api.sensor import Sensor
from kasset.builders import build_contract_env
from kasset.planning import ObservedJob, parse_step_result, plan_run
from kasset.planning.run import resolve_run_graph
from kasset.planning.settings import PlanSettings
from kasset.planning.storage import render_storage_uri

from kasset_factories import T0

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
FOLDERS = sorted(path for path in EXAMPLES.iterdir() if path.is_dir())
#: Examples that a Run or Backfill in the folder starts, on the shared claim; 05 is started by queue messages
#: (its Sensors) and keeps its data in S3: tests/e2e/test_sqs_zip_pipeline.py runs it against real servers.
STARTED = [path for path in FOLDERS if path.name != "05-sqs-zip-pipeline"]
MODELS = {"Asset": Asset, "Job": Job, "Run": Run, "Backfill": Backfill, "Schedule": Schedule, "Sensor": Sensor}
NAMESPACE = "examples"
#: Bound on reconcile rounds of a local run (each round launches at least one step or finishes).
MAX_ROUNDS = 20


@dataclass(frozen=True)
class Example:
    folder: Path
    documents: list[dict[str, Any]]

    def of_kind(self, kind: str, api_group: str | None = None) -> list[dict[str, Any]]:
        return [
            doc for doc in self.documents
            if doc["kind"] == kind and (api_group is None or doc["apiVersion"].split("/")[0] == api_group)
        ]

    def models(self, kind: str) -> dict[str, Any]:
        return {doc["metadata"]["name"]: MODELS[kind].model_validate(doc) for doc in self.of_kind(kind, "kasset.dev")}

    def names(self, kind: str, api_group: str | None = None) -> set[str]:
        return {doc["metadata"]["name"] for doc in self.of_kind(kind, api_group)}

    @property
    def run(self) -> Run:
        (run,) = self.models("Run").values()
        return run

    @property
    def starter(self) -> Run | Backfill:
        """The one Run or Backfill that starts the example."""
        (found,) = [*self.models("Run").values(), *self.models("Backfill").values()]
        return found


def load(folder: Path) -> Example:
    documents = []
    for path in sorted(folder.glob("*.y*ml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    return Example(folder, documents)


def ids(folders: list[Path]) -> list[str]:
    return [folder.name for folder in folders]


def test_there_are_the_five_examples():
    assert ids(FOLDERS) == ["01-hello", "02-assets", "03-zip-fanout", "04-partitions", "05-sqs-zip-pipeline"]


@pytest.mark.parametrize("folder", FOLDERS, ids=ids(FOLDERS))
def test_every_document_parses_and_leaves_the_namespace_to_kubectl(folder):
    example = load(folder)
    assert example.documents, f"{folder} has no manifests"
    for doc in example.documents:
        assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), doc
        assert doc["metadata"].get("name"), doc
        assert "namespace" not in doc["metadata"], f"{doc['kind']}/{doc['metadata']['name']} sets a namespace"
    assert (folder / "README.md").is_file()


def find_unknown_fields(given: Any, dumped: Any, path: str = "") -> list[str]:
    """Keys of `given` absent from `dumped`: fields the models ignored (a typo such as `fanout`)."""
    if isinstance(given, dict) and isinstance(dumped, dict):
        missing = [f"{path}.{key}" for key in given if key not in dumped]
        return missing + [
            unknown for key in given if key in dumped
            for unknown in find_unknown_fields(given[key], dumped[key], f"{path}.{key}")
        ]
    if isinstance(given, list) and isinstance(dumped, list) and len(given) == len(dumped):
        return [
            unknown for i, (item, dumped_item) in enumerate(zip(given, dumped))
            for unknown in find_unknown_fields(item, dumped_item, f"{path}[{i}]")
        ]
    return []


@pytest.mark.parametrize("folder", FOLDERS, ids=ids(FOLDERS))
def test_kasset_objects_validate_against_the_models_without_unknown_fields(folder):
    for doc in load(folder).documents:
        if doc["apiVersion"].split("/")[0] != "kasset.dev":
            continue
        assert doc["kind"] in MODELS, f"unknown Kasset kind {doc['kind']}"
        model = MODELS[doc["kind"]].model_validate(doc)
        dumped = model.model_dump(mode="json", by_alias=True)
        assert find_unknown_fields(doc["spec"], dumped["spec"], ".spec") == [], doc["metadata"]["name"]


@pytest.mark.parametrize("folder", STARTED, ids=ids(STARTED))
def test_every_example_has_exactly_one_run_or_backfill_of_a_job_in_the_folder(folder):
    example = load(folder)
    assert len(example.of_kind("Run", "kasset.dev") + example.of_kind("Backfill", "kasset.dev")) == 1
    assert example.starter.spec.job_ref is not None
    assert example.starter.spec.job_ref.name in example.names("Job", "kasset.dev")


@pytest.mark.parametrize("folder", FOLDERS, ids=ids(FOLDERS))
def test_selected_and_upstream_assets_exist_in_the_folder(folder):
    example = load(folder)
    assets = example.models("Asset")
    for name, job in example.models("Job").items():
        selected = job.spec.selection.assets if job.spec.selection else []
        assert set(selected) <= set(assets), f"Job {name} selects assets not in {folder.name}"
    for name, asset in assets.items():
        assert {dep.asset for dep in asset.spec.deps} <= set(assets), f"Asset {name} depends outside the folder"


@pytest.mark.parametrize("folder", STARTED, ids=ids(STARTED))
def test_the_run_resolves_to_a_step_graph(folder):
    example = load(folder)
    run = example.starter
    if isinstance(run, Backfill):  # the Runs it creates: the Job over one of its partitions
        run = Run.model_validate({"metadata": {"name": "r"}, "spec": {"jobRef": {"name": run.spec.job_ref.name}}})
    graph = resolve_run_graph(
        run=run, job=example.models("Job").get(run.spec.job_ref.name),
        assets=example.models("Asset"), settings=PlanSettings(),
    )
    assert hasattr(graph, "steps"), graph  # a Problem (cycle, missing dependency, bad storage) otherwise


def step_pods(example: Example):
    """(where, container, volumes, storage) of every asset and explicit step of the example."""
    for name, asset in example.models("Asset").items():
        yield f"Asset {name}", asset.spec.container, asset.spec.volumes, asset.spec.storage
    for name, job in example.models("Job").items():
        for step in job.spec.steps:
            yield f"Job {name} step {step.name}", step.container, step.volumes, job.spec.storage


@pytest.mark.parametrize("folder", STARTED, ids=ids(STARTED))
def test_steps_mount_the_claim_and_code_of_the_folder_and_write_inside_a_mount(folder):
    example = load(folder)
    claims, config_maps = example.names("PersistentVolumeClaim"), example.of_kind("ConfigMap")
    for where, container, volumes, storage in step_pods(example):
        by_name = {volume.name: volume.model_dump(by_alias=True) for volume in volumes}
        mounts = {mount.mount_path: by_name.get(mount.name) for mount in container.volume_mounts or ()}
        assert None not in mounts.values(), f"{where} mounts a volume it does not declare"
        for volume in by_name.values():
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, where
        assert storage and storage.startswith("file:///"), f"{where} needs a file:// storage on the shared volume"
        output = render_storage_uri(storage, namespace="ns", asset="a", step="s", run="r", partition=None)
        writable = [path for path, volume in mounts.items() if "persistentVolumeClaim" in volume]
        assert any(output.removeprefix("file://").startswith(path + "/") for path in writable), where
        script = container.command[-1]
        mount = next(path for path in mounts if script.startswith(path + "/"))
        config_map = next(cm for cm in config_maps if cm["metadata"]["name"] == mounts[mount]["configMap"]["name"])
        assert script.removeprefix(mount + "/") in config_map["data"], f"{where} runs a file its ConfigMap lacks"


@pytest.mark.parametrize("folder", FOLDERS, ids=ids(FOLDERS))
def test_step_code_compiles(folder):
    for config_map in load(folder).of_kind("ConfigMap"):
        for key, source in config_map["data"].items():
            if key.endswith(".py"):
                compile(source, f"{folder.name}/{key}", "exec")


def test_the_queue_pipeline_chains_its_sensors_jobs_and_asset_in_the_folder():
    example = load(EXAMPLES / "05-sqs-zip-pipeline")
    sensors, jobs, assets = example.models("Sensor"), example.models("Job"), example.models("Asset")
    assert sensors["zip-arrivals"].spec.container.image == "kasset/sqs-source:0.1.0"
    assert sensors["zip-arrivals"].spec.job_ref.name == "unpack-zip" and "unpacked-zip" in assets
    assert jobs["unpack-zip"].spec.selection.assets == ["unpacked-zip"]
    assert sensors["unpacked"].spec.asset_materialized.assets == ["unpacked-zip"]
    assert sensors["unpacked"].spec.params["s3_key"] == "{{ metadata.s3_key }}"
    assert sensors["unpacked"].spec.job_ref.name == "process-csvs"
    fan_out = {step.name: step for step in jobs["process-csvs"].spec.steps}["daily-totals"]
    assert fan_out.fan_out.from_step == "find-relevant"
    for where, container, _, storage in step_pods(example):
        assert storage.startswith("s3://kasset-zips/"), where
        assert container.image == "kasset/step-aws:0.1.0", where


# --- the examples run on this machine: planner → contract env → step process → result → planner ------------


def localize(example: Example, data: Path, run: Run | None = None) -> tuple[Run, Job | None, dict[str, Asset]]:
    """The example's Run (or `run`), Job and Assets with storage moved from the /data volume to `data`."""
    run = run or example.run
    def move(storage: str | None) -> str | None:
        return storage.replace("file:///data/", data.as_uri() + "/") if storage else storage

    assets = {
        name: asset.model_copy(update={"spec": asset.spec.model_copy(update={"storage": move(asset.spec.storage)})})
        for name, asset in example.models("Asset").items()
    }
    job = example.models("Job")[run.spec.job_ref.name]
    job = job.model_copy(update={"spec": job.spec.model_copy(update={"storage": move(job.spec.storage)})})
    meta = run.metadata.model_copy(
        update={"namespace": NAMESPACE, "uid": "uid-run", "generation": 1, "creation_timestamp": T0}
    )
    return run.model_copy(update={"metadata": meta}), job, assets


def run_step_process(launch, *, code: Path, workdir: Path, index: int | None) -> str:
    """Run the launch's command as a local process; return its termination message."""
    message = workdir / f"{launch.job_name}-{index}.message"
    env = {item["name"]: item["value"] for item in build_contract_env(launch.contract)}
    env |= {"KASSET_TERMINATION_LOG": str(message), "PATH": os.environ.get("PATH", "")}
    env["PYTHONPATH"] = str(Path(sdk.__file__).resolve().parents[1])  # `from kasset import sdk`, as in the image
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)
    command = [sys.executable if arg == "python3" else arg.replace("/code/", f"{code}/")
               for arg in launch.node.container.command]
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{launch.job_name}[{index}] failed:\n{done.stderr}"
    return message.read_text() if message.exists() else ""


def run_locally(folder: Path, tmp_path: Path, run: Run | None = None) -> tuple[Run, dict[str, Asset], dict[str, str]]:
    """Drive the example's Run (or `run`) to its end; return the final Run, the Assets and each step's termination
    messages."""
    example = load(folder)
    code, data = tmp_path / "code", tmp_path / "data"
    code.mkdir()
    data.mkdir()
    for config_map in example.of_kind("ConfigMap"):
        for key, source in config_map["data"].items():
            (code / key).write_text(source)
    run, job, assets = localize(example, data, run)
    observed: dict[str, ObservedJob] = {}
    messages: dict[str, str] = {}
    for round_ in range(MAX_ROUNDS):
        plan = plan_run(run=run, job=job, assets=assets, observed=observed, now=T0 + timedelta(seconds=round_))
        for update in plan.materializations:
            asset = assets[update.asset]
            status = asset.status.model_copy(update={"last_materialization": update.materialization})
            assets[update.asset] = asset.model_copy(update={"status": status})
        run = run.model_copy(update={"status": plan.status})
        if plan.finished:
            return run, assets, messages
        for launch in plan.launches:
            indexes = list(range(launch.completions)) if launch.completions is not None else [None]
            for index in indexes:
                messages[f"{launch.node.name}[{index}]"] = run_step_process(
                    launch, code=code, workdir=tmp_path, index=index
                )
            result = parse_step_result(messages[f"{launch.node.name}[None]"]) if indexes == [None] else None
            observed[launch.job_name] = ObservedJob(
                name=launch.job_name, succeeded_pods=len(indexes), is_complete=True, result=result
            )
    raise AssertionError(f"{folder.name} did not finish in {MAX_ROUNDS} rounds: {run.status}")


def succeeded(run: Run) -> bool:
    outcome = find_condition(run.status.conditions, "Succeeded")
    return outcome is not None and outcome.status == "True"


def test_hello_example_runs_and_salutation_reads_what_hello_wrote(tmp_path):
    run, _, messages = run_locally(EXAMPLES / "01-hello", tmp_path)
    assert succeeded(run), run.status
    assert [step.name for step in run.status.steps] == ["hello", "salutation"]
    assert json.loads(messages["hello[None]"])["metadata"]["greeting"] == "Hello, Kasset!"
    assert json.loads(messages["salutation[None]"])["metadata"]["salutation"].startswith("Hello, Kasset!")


def test_assets_example_records_num_records_preview_and_lineage(tmp_path):
    run, assets, _ = run_locally(EXAMPLES / "02-assets", tmp_path)
    assert succeeded(run), run.status
    raw = assets["raw-orders"].status.last_materialization
    valid = assets["valid-orders"].status.last_materialization
    assert valid.metadata["num_records"] == 100
    preview = valid.metadata["preview"].splitlines()
    assert preview[0].startswith("| order_id |") and preview[1].startswith("| --- |") and len(preview) == 7
    assert [entry.model_dump(by_alias=True, exclude_none=True) for entry in valid.lineage] == [
        {"asset": "raw-orders", "run": "orders-1", "dataVersion": raw.data_version}
    ]
    assert raw.data_version != "uid-run"  # reported by the step (a content hash), not the default


def test_zip_fanout_example_processes_each_csv_in_one_indexed_job(tmp_path):
    run, assets, messages = run_locally(EXAMPLES / "03-zip-fanout", tmp_path)
    assert succeeded(run), run.status
    steps = {step.name: step for step in run.status.steps}
    assert steps["unpack"].item_count == 4 and steps["count-rows"].item_count == 4
    files = [json.loads(messages[f"count-rows[{i}]"])["metadata"]["file"] for i in range(4)]
    assert files == ["sales-east.csv", "sales-north.csv", "sales-south.csv", "sales-west.csv"]  # items[index]
    assert json.loads(messages["summarize[None]"])["metadata"]["total_rows"] == 114
    assert assets["sales-archive"].status.last_materialization.metadata["files"] == 4


def partition_run(name: str, partition: str, **params: object) -> Run:
    return Run.model_validate({"metadata": {"name": name}, "spec": {"jobRef": {"name": "daily"},
                                                                     "partition": partition, "params": params}})


def test_partitions_example_materializes_a_day_and_its_check_passes(tmp_path):
    run, assets, messages = run_locally(EXAMPLES / "04-partitions", tmp_path, partition_run("day", "2021-04-13"))
    assert succeeded(run), run.status
    assert [step.name for step in run.status.steps] == ["daily-events", "daily-events-check-no-negative-amounts",
                                                        "daily-totals"]
    assert json.loads(messages["daily-events[None]"])["metadata"] == {"events": 26, "day": "2021-04-13"}
    verdict = json.loads(messages["daily-events-check-no-negative-amounts[None]"])
    assert verdict["passed"] is True and verdict["message"] == "0 negative amounts in 2021-04-13"


def test_partitions_example_check_catches_a_bad_row_and_blocks_the_totals(tmp_path):
    bad = partition_run("bad-day", "2021-04-13", inject_bad_row=True)
    run, _, messages = run_locally(EXAMPLES / "04-partitions", tmp_path, bad)
    steps = {step.name: step for step in run.status.steps}
    assert steps["daily-events-check-no-negative-amounts"].state == "Failed"
    assert steps["daily-totals"].state == "Skipped"
    assert "1 negative amounts in 2021-04-13" in steps["daily-totals"].message
    assert find_condition(run.status.conditions, "Succeeded").reason == "CheckFailed"
