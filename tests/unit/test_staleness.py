from kasset.planning import assess_staleness
from kasset.planning.staleness import compare_upstream

from kasset_factories import index, make_asset, materialized


def consumed(asset="raw", run="r1", data_version="v1", partition=None):
    return {"asset": asset, "run": run, "dataVersion": data_version, "partition": partition}


def test_never_materialized_asset_is_stale():
    staleness = assess_staleness(make_asset("raw"), {})
    assert staleness.stale and staleness.reason == "NeverMaterialized"


def test_fresh_asset_is_up_to_date():
    raw = materialized(make_asset("raw"), run="r1", data_version="v1")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1", lineage=[consumed()])
    staleness = assess_staleness(clean, index(raw, clean))
    assert not staleness.stale and staleness.reason == "UpToDate" and staleness.reasons == ()


def test_upstream_with_a_new_data_version_makes_the_asset_stale():
    raw = materialized(make_asset("raw"), run="r2", data_version="v2")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1", lineage=[consumed()])
    staleness = assess_staleness(clean, index(raw, clean))
    assert staleness.stale and staleness.reason == "UpstreamChanged"
    assert staleness.reasons == ("upstream raw has dataVersion v2 (run r2); consumed v1 (run r1)",)


def test_rematerialized_upstream_with_the_same_data_version_is_not_a_change():
    raw = materialized(make_asset("raw"), run="r2", data_version="v1")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1", lineage=[consumed()])
    assert not assess_staleness(clean, index(raw, clean)).stale


def test_changed_code_version_makes_the_asset_stale_and_comes_first():
    raw = materialized(make_asset("raw"), run="r2", data_version="v2")
    clean = materialized(make_asset("clean", "raw", codeVersion="1"), run="r1", data_version="c1", lineage=[consumed()])
    clean = clean.model_copy(update={"spec": clean.spec.model_copy(update={"code_version": "2"})})
    staleness = assess_staleness(clean, index(raw, clean))
    assert staleness.reason == "CodeVersionChanged"
    assert staleness.reasons[0] == "codeVersion changed from 1 to 2" and len(staleness.reasons) == 2


def test_upstream_not_in_the_lineage_makes_the_asset_stale():
    raw = materialized(make_asset("raw"), run="r2", data_version="v2")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1")
    assert "not consumed" in assess_staleness(clean, index(raw, clean)).reasons[0]


def test_a_new_partition_upstream_does_not_make_another_partition_stale():
    assert compare_upstream(
        "raw",
        materialized(make_asset("x"), run="r", data_version="d", lineage=[consumed(partition="p1")]).status.last_materialization.lineage[0],
        materialized(make_asset("raw"), run="r2", data_version="v2", partition="p2").status.last_materialization,
    ) is None


def test_without_data_versions_runs_are_compared():
    lineage = [{"asset": "raw", "run": "r1"}]
    raw = materialized(make_asset("raw"), run="r2", data_version="")
    clean = materialized(make_asset("clean", "raw"), run="r1", data_version="c1", lineage=lineage)
    assert assess_staleness(clean, index(raw, clean)).reasons == ("upstream raw was materialized by run r2; consumed run r1",)


def test_stale_reasons_are_bounded():
    ups = [materialized(make_asset(f"u{i}"), run="r2", data_version="v2") for i in range(15)]
    clean = materialized(
        make_asset("clean", *[u.metadata.name for u in ups]), run="r1", data_version="c",
        lineage=[consumed(asset=u.metadata.name) for u in ups],
    )
    reasons = assess_staleness(clean, index(clean, *ups)).reasons
    assert len(reasons) == 10 and reasons[-1] == "and 6 more"
