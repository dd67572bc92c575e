"""Operator settings come from KASSET_* variables, JSON for structures."""

from kasset.reconcilers.runtime import Runtime as Context
from kasset.settings import Settings


def test_step_settings_are_read_from_json_environment_variables(monkeypatch):
    monkeypatch.setenv("KASSET_STEP_NODE_SELECTOR", '{"kasset.dev/node-kind": "real"}')
    monkeypatch.setenv("KASSET_STEP_RUN_AS_USER", "null")
    build = Context(kube=None, settings=Settings()).build_settings  # type: ignore[arg-type]
    assert build.node_selector == {"kasset.dev/node-kind": "real"}
    assert build.run_as_user is None and build.fs_group is None


def test_steps_run_as_65532_by_default(monkeypatch):
    monkeypatch.delenv("KASSET_STEP_RUN_AS_USER", raising=False)
    assert Context(kube=None, settings=Settings()).build_settings.run_as_user == 65532  # type: ignore[arg-type]
