"""`init-airtable` prepares an empty base as the SYNC base, and a second run changes nothing."""

from __future__ import annotations

from paperplan_sync.config.loader import load_config
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.bootstrap import bootstrap_base
from paperplan_sync.control_plane.schema import load_base_schema


def test_init_on_an_empty_base_then_again_changes_nothing(start_airtable_server):
    with start_airtable_server(seed=False, rate_limit_per_s=0) as server:
        airtable = AirtableResource(
            api_key=server.api_key, base_id=server.base_id, endpoint_url=server.url, requests_per_second=200
        )

        first = bootstrap_base(airtable, demo=True)
        second = bootstrap_base(airtable, demo=True)

        created = {c.table for c in first if c.what == "table"}
        assert created == {t["name"] for t in load_base_schema()["tables"]}
        assert {c.table for c in first if c.what == "demo rows"} >= {"Report Types", "Automations"}
        assert [c.what for c in second] == ["view (manual)"]  # only the view, which the API cannot create
        config = load_config(airtable)
        assert not config.problems
        assert len(config.active_report_types) == 5 and len(config.automations) == 4


def test_a_missing_field_is_added_and_reported(start_airtable_server):
    with start_airtable_server(seed=False, rate_limit_per_s=0) as server:
        airtable = AirtableResource(
            api_key=server.api_key, base_id=server.base_id, endpoint_url=server.url, requests_per_second=200
        )
        base = airtable.api.base(airtable.base_id)
        base.create_table("Overview", [{"name": "Name", "type": "singleLineText"}])

        changes = bootstrap_base(airtable)

        assert [(c.table, c.detail) for c in changes if c.table == "Overview"] == [
            ("Overview", "added Alive (number)"),
            ("Overview", "added Timestamp (dateTime)"),
        ]
