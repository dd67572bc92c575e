from kasset.planning import StepResult, parse_step_result


def test_empty_message_is_an_empty_result():
    assert parse_step_result("") == StepResult()
    assert parse_step_result(None) == StepResult()


def test_a_full_result_is_read():
    result = parse_step_result('{"dataVersion": "v3", "metadata": {"n": 1}, "items": ["a", "b"], "extra": 1}')
    assert result == StepResult(data_version="v3", metadata={"n": 1}, items=("a", "b"), item_count=2)


def test_a_pointer_result_keeps_the_count_and_the_reference():
    result = parse_step_result('{"resultRef": "file:///d/.kasset-result.json", "itemCount": 9000}')
    assert (result.result_ref, result.item_count, result.items, result.error) == ("file:///d/.kasset-result.json", 9000, None, None)


def test_garbage_gives_an_error_instead_of_an_exception():
    assert parse_step_result("Traceback (most recent call last): ...").error.startswith("result is not JSON")
    assert parse_step_result("[1, 2]").error.startswith("result is not a JSON object")


def test_wrongly_typed_fields_are_dropped_and_reported():
    result = parse_step_result('{"dataVersion": {"x": 1}, "metadata": [], "itemCount": -1, "items": "a"}')
    assert (result.data_version, result.metadata, result.item_count, result.items) == (None, {}, None, None)
    assert "dataVersion" in result.error and "metadata" in result.error and "itemCount" in result.error


def test_numeric_data_version_is_read_as_text():
    assert parse_step_result('{"dataVersion": 7}').data_version == "7"
