import re

from kasset.planning.names import derived_run_name, make_dns_label, sanitize_label_value, step_job_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def test_step_job_name_joins_run_and_step_with_a_hash_of_the_pair():
    name = step_job_name("run-42", "extract")
    assert re.fullmatch(r"run-42-extract-[0-9a-f]{5}", name)


def test_runs_and_steps_that_join_to_the_same_text_get_different_job_names():
    assert step_job_name("a-b", "c") != step_job_name("a", "b-c")


def test_step_job_name_is_deterministic_and_a_dns_label_of_at_most_63_characters():
    long_run = "nightly-" + "x" * 80
    first = step_job_name(long_run, "load-warehouse")
    assert first == step_job_name(long_run, "load-warehouse")
    assert len(first) <= 63 and DNS_LABEL.match(first)


def test_truncated_names_differ_by_their_hash_suffix():
    run = "r" * 70
    assert step_job_name(run, "a") != step_job_name(run, "b")


def test_invalid_characters_are_replaced_and_hashed_so_distinct_inputs_stay_distinct():
    dotted = step_job_name("run", "sales.daily")
    dashed = step_job_name("run", "sales-daily")
    assert DNS_LABEL.match(dotted) and dotted != dashed
    assert make_dns_label("---") .startswith("k")


def test_label_values_are_kept_when_valid_and_sanitized_otherwise():
    assert sanitize_label_value("2026-01-02") == "2026-01-02"
    odd = sanitize_label_value("2026-01-02T00:00:00+01:00")
    assert LABEL_VALUE.match(odd) and len(odd) <= 63
    assert odd != sanitize_label_value("2026-01-02T00-00-00-01-00")
    assert len(sanitize_label_value("p" * 200)) <= 63


def test_derived_run_names_depend_on_the_key():
    assert derived_run_name("daily-eager", "k1") == derived_run_name("daily-eager", "k1")
    assert derived_run_name("daily-eager", "k1") != derived_run_name("daily-eager", "k2")
    assert len(derived_run_name("x" * 100, "k")) <= 63


def test_step_job_names_leave_room_for_the_index_of_an_indexed_job_pod_hostname():
    from kasset.planning.names import step_job_name

    name = step_job_name("r" * 40, "s" * 40)
    assert len(f"{name}-999999") <= 63
    assert step_job_name("r" * 40, "s" * 40) == name  # still deterministic
