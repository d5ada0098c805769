"""MongoResource: cached client, indexes at first use, configuration from the environment in a Dagster run."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from paperplan_local.mongo import MongoStandIn
from paperplan_sync.resources import mongo_resource
from paperplan_sync.storage import loads
from paperplan_sync.storage.mongo import MongoResource, get_client
from paperplan_sync_tests.storage.helpers import DAY, load_day, make_rows


def test_client_is_cached_and_tz_aware(mongo):
    assert mongo.client is MongoResource(uri=mongo.uri, database="other").client
    assert mongo.client.codec_options.tz_aware is True
    mongo.ping()


def test_indexes_created_at_first_use_idempotently(mongo):
    db = mongo.db()
    assert "name_status_id" in db[loads.LOADS].index_information()
    assert db["datapoints"].index_information()["report_date_key_metric"]["unique"] is True
    from paperplan_sync.storage.mongo import ensure_indexes

    ensure_indexes(db)  # again: no error, nothing duplicated
    assert len(db[loads.LOADS].index_information()) == 4
    load_day(db, make_rows(2))
    assert list(db["sales_report"].index_information()) == ["_id_"]  # rows are keyed by day: no other index


def test_production_wiring_in_a_dagster_run(mongo_server, monkeypatch):
    database = f"test_env_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("MONGODB_URI", mongo_server.uri)
    monkeypatch.setenv("MONGODB_DATABASE", database)

    @dg.asset
    def stored_rows(mongo: MongoResource) -> int:
        return load_day(mongo.db(), make_rows(3))["rows"]

    result = dg.materialize([stored_rows], resources={"mongo": mongo_resource()})
    assert result.success and result.output_for_node("stored_rows") == 3
    client = get_client(mongo_server.uri)
    assert client[database]["sales_report"].count_documents({"_report_date": DAY}) == 3
    client.drop_database(database)


@pytest.fixture(scope="module")
def standalone_server():
    with MongoStandIn(standalone=True) as server:
        yield server


def test_standalone_server_falls_back_to_best_effort(standalone_server, caplog, monkeypatch):
    monkeypatch.setattr(loads, "_warned_standalone", False)
    resource = MongoResource(uri=standalone_server.uri, database="standalone_test")
    db = resource.db()
    first = load_day(db, make_rows(10, "a"))
    second = load_day(db, make_rows(15, "b"))
    assert (first["mode"], first["atomic"]) == ("staged", False)
    assert second["status"] == "succeeded"
    assert {r["tag"] for r in db["sales_report"].find({"_report_date": DAY})} == {"b"}
    assert db["sales_report"].count_documents({}) == 15
    assert sum("no transactions" in r.getMessage() for r in caplog.records) == 1
    resource.client.drop_database("standalone_test")
