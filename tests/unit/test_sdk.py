"""The step contract: kasset.sdk reads the context the builders write and reports what the planner parses."""

import json

import pytest

from kasset import sdk
from kasset.builders import build_contract_env
from kasset.planning import StepContract, parse_step_result
from kasset_factories import run_isolated


def environment(tmp_path, **extra):
    context = StepContract(
        namespace="team", run="run-1", step="clean", asset="clean", partition="2026-01-01",
        params={"limit": 5}, output_uri=(tmp_path / "out").as_uri(), inputs={"raw-data": (tmp_path / "raw").as_uri()},
        code_version="c1", **extra,
    )
    env = {item["name"]: item["value"] for item in build_contract_env(context)}
    env[sdk.ENV_TERMINATION_LOG] = str(tmp_path / "termination-log")
    return env


def test_context_reads_what_the_builders_write(tmp_path):
    ctx = sdk.context(environment(tmp_path))
    assert (ctx.namespace, ctx.run, ctx.step, ctx.asset, ctx.partition) == ("team", "run-1", "clean", "clean", "2026-01-01")
    assert ctx.params == {"limit": 5} and ctx.code_version == "c1"
    assert ctx.output_path() == str(tmp_path / "out")
    assert ctx.input_path("raw-data") == str(tmp_path / "raw")
    assert ctx.index is None and ctx.items is None
    assert environment(tmp_path)["KASSET_INPUT_RAW_DATA_URI"] == (tmp_path / "raw").as_uri()


def test_fan_out_pod_reads_its_item_by_completion_index(tmp_path):
    env = environment(tmp_path, items=("a.csv", "b.csv")) | {sdk.ENV_COMPLETION_INDEX: "1"}
    assert sdk.context(env).item == "b.csv"


def test_fan_out_pod_reads_items_by_reference(tmp_path):
    stored = tmp_path / "result.json"
    stored.write_text(json.dumps({"items": ["x", "y", "z"]}))
    env = environment(tmp_path, items_uri=stored.as_uri()) | {sdk.ENV_COMPLETION_INDEX: "2"}
    assert sdk.context(env).item == "z"


def test_item_outside_a_fan_out_is_a_lookup_error(tmp_path):
    with pytest.raises(LookupError):
        sdk.context(environment(tmp_path)).item


def test_reported_result_round_trips_through_the_termination_message(tmp_path):
    env = environment(tmp_path)
    sdk.report(metadata={"num_records": 12, "preview": "| a |\n| 1 |"}, data_version="v3", items=["a", "b"], environ=env)
    result = parse_step_result((tmp_path / "termination-log").read_text())
    assert result.data_version == "v3" and result.metadata["num_records"] == 12
    assert result.items == ("a", "b") and result.item_count == 2 and result.error is None


def test_large_result_goes_to_the_output_location_with_a_pointer_in_the_message(tmp_path):
    env = environment(tmp_path)
    items = [f"file-{i:05}.csv" for i in range(1000)]
    sdk.report(items=items, metadata={"n": 1}, data_version="v1", environ=env)
    message = (tmp_path / "termination-log").read_text()
    assert len(message.encode()) <= sdk.MESSAGE_LIMIT
    result = parse_step_result(message)
    assert (result.item_count, result.items, result.data_version, result.metadata) == (1000, None, "v1", {"n": 1})
    stored = json.loads((tmp_path / "out" / ".kasset-result.json").read_text())
    assert stored["items"] == items
    # ...and a downstream fan-out pod reads the items through that reference
    downstream = environment(tmp_path, items_uri=result.result_ref) | {sdk.ENV_COMPLETION_INDEX: "999"}
    assert sdk.context(downstream).item == "file-00999.csv"


def test_large_result_without_file_output_is_refused(tmp_path):
    env = environment(tmp_path) | {sdk.ENV_OUTPUT_URI: "s3://bucket/x"}
    with pytest.raises(ValueError, match="not a file:// URI"):
        sdk.report(items=["x" * 100] * 100, environ=env)


def test_sdk_imports_with_the_standard_library_only():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'kopf', 'kubernetes', 'pydantic', 'yaml'}:\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import kasset.sdk\n"
        "kasset.sdk.context({})\n"
        "heavy = [m for m in ('kopf', 'kubernetes', 'pydantic', 'yaml') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    assert run_isolated(code) == "[]"


def test_context_reads_the_window_range_and_partitions_read(tmp_path):
    months = {"daily": {"2021-04-01": "file:///d/2021-04-01", "2021-04-02": "file:///d/2021-04-02"}}
    env = environment(tmp_path, partition_range=("2021-04-01", "2021-04-02"),
                      window=("2021-04-01T00:00:00+02:00", "2021-04-03T00:00:00+02:00"), input_partitions=months)
    ctx = sdk.context(env)
    assert (ctx.partition_range_start, ctx.partition_range_end) == ("2021-04-01", "2021-04-02")
    assert (ctx.window_start, ctx.window_end) == ("2021-04-01T00:00:00+02:00", "2021-04-03T00:00:00+02:00")
    assert ctx.input_partitions == months


def test_a_check_reports_its_verdict_and_the_planner_reads_it(tmp_path):
    env = environment(tmp_path)
    written = sdk.report_check(False, message="3 rows without id", metadata={"bad": 3}, environ=env)
    assert written == {"passed": False, "message": "3 rows without id", "metadata": {"bad": 3}}
    result = parse_step_result((tmp_path / "termination-log").read_text())
    assert (result.passed, result.message, result.metadata) == (False, "3 rows without id", {"bad": 3})


def test_reported_partition_keys_reach_the_planner(tmp_path):
    sdk.report(partition_keys=["a.csv", "b.csv"], environ=environment(tmp_path))
    assert parse_step_result((tmp_path / "termination-log").read_text()).partition_keys == ("a.csv", "b.csv")
