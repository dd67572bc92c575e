"""A step's status from its Job: what of the result fits in status, and fan-out steps whose items went missing."""

from kasset.api import StepStatus
from kasset.api.common import Container
from kasset.api.run import MAX_INLINE_ITEMS_BYTES, STEP_MESSAGE_MAX_LENGTH
from kasset.planning import StepResult
from kasset.planning.graph import StepNode
from kasset.planning.steps import bound_data_version, describe_failure, observe_step, settle_pending

from kasset_factories import T0, at, failed, succeeded

CONTAINER = Container(image="i")
SOURCE = StepNode(name="list", container=CONTAINER)
ASSET = StepNode(name="raw", asset="raw", container=CONTAINER)
FAN_OUT = StepNode(name="each", container=CONTAINER, depends_on=("list",), fan_out_from="list")


def finish(node, result, *, keep_items=True):
    return observe_step(node, prior=None, observed=succeeded("job", result=result), default_data_version="uid",
                        keep_items=keep_items, now=at(30))


def test_inline_items_within_the_byte_budget_are_kept_for_the_fan_out_step():
    items = ("x" * (MAX_INLINE_ITEMS_BYTES - len('[""]')),)
    step = finish(SOURCE, StepResult(items=items, item_count=1))
    assert step.items == list(items) and step.message is None


def test_inline_items_over_the_byte_budget_are_dropped_and_the_step_is_told_to_use_result_ref():
    items = tuple("x" * 100 for _ in range(400))  # 400 items, 41,201 bytes of JSON
    step = finish(SOURCE, StepResult(items=items, item_count=400))
    assert step.state == "Succeeded" and step.items is None and step.item_count == 400
    assert step.message == f"inline items of 41201 bytes exceed {MAX_INLINE_ITEMS_BYTES}; report them by resultRef"


def test_a_fan_out_step_whose_source_items_are_neither_inline_nor_at_a_result_ref_fails_saying_so():
    source = finish(SOURCE, StepResult(items=tuple("x" * 100 for _ in range(400)), item_count=400))
    pending = StepStatus(name="each", state="Pending")
    step, can_start = settle_pending(FAN_OUT, pending, {"list": source, "each": pending}, now=at(31))
    assert not can_start and step.state == "Failed"
    assert step.message.startswith("fanOut.fromStep list: its 400 items are neither inline in status nor at a")


def test_a_fan_out_step_starts_when_its_source_reported_items_by_result_ref():
    source = finish(SOURCE, StepResult(result_ref="file:///r.json", item_count=4000))
    pending = StepStatus(name="each", state="Pending")
    assert settle_pending(FAN_OUT, pending, {"list": source, "each": pending}, now=at(31))[1]


def test_a_result_ref_longer_than_status_keeps_is_dropped_with_a_message():
    step = finish(SOURCE, StepResult(result_ref="file:///" + "r" * 600))
    assert step.result_ref is None and step.message == "resultRef of 608 characters not kept (limit 512)"


def test_several_notes_about_the_result_are_all_kept_within_the_message_limit():
    step = finish(SOURCE, StepResult(result_ref="f" * 600, metadata={"k": "v" * 600}, error="e" * 300))
    assert step.message.startswith("result ignored: eee") and len(step.message) == STEP_MESSAGE_MAX_LENGTH


def test_a_long_data_version_is_kept_as_its_digest_so_equal_versions_stay_equal():
    long = "v" * 200
    step = finish(ASSET, StepResult(data_version=long))
    assert step.data_version == bound_data_version(long) == bound_data_version("v" * 200)
    assert step.data_version.startswith("sha256:") and bound_data_version("v" * 201) != step.data_version
    assert bound_data_version("v" * 128) == "v" * 128
    assert bound_data_version("\x01" * 30).startswith("sha256:")  # 180 bytes once escaped in JSON


def test_the_asset_of_a_step_comes_back_from_the_graph_after_status_trimming_dropped_it():
    trimmed = StepStatus(name="raw", state="Succeeded", data_version="v1")
    assert observe_step(ASSET, prior=trimmed, observed=None, default_data_version="u", keep_items=False,
                        now=T0).asset == "raw"
    running = StepStatus(name="raw", state="Running", job_name="job")
    assert observe_step(ASSET, prior=running, observed=None, default_data_version="u", keep_items=False,
                        now=T0).asset == "raw"


def test_a_failure_message_is_cut_before_the_facts_after_it():
    message = describe_failure(failed("job", message="traceback " * 100, pods=3))
    assert len(message) <= STEP_MESSAGE_MAX_LENGTH and message.endswith("(BackoffLimitExceeded, 3 attempts)")
    assert message.startswith("traceback traceback")


def test_a_waiting_message_naming_long_dependencies_stays_within_the_limit():
    deps = tuple(f"d{i}-" + "x" * 240 for i in range(5))
    node = StepNode(name="late", container=CONTAINER, depends_on=deps)
    statuses = {d: StepStatus(name=d, state="Running") for d in deps}
    step, _ = settle_pending(node, StepStatus(name="late", state="Pending"), statuses, now=T0)
    assert step.message.startswith("waiting for d0-") and len(step.message) == STEP_MESSAGE_MAX_LENGTH
