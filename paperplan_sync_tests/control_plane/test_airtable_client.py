"""The product's Airtable client against a stand-in that enforces Airtable's limits."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.schema import TABLE_LOGS

WORKER = textwrap.dedent("""
    import sys
    from paperplan_sync.control_plane.airtable import AirtableResource
    url, base, key, n = sys.argv[1:5]
    airtable = AirtableResource(api_key=key, base_id=base, endpoint_url=url, requests_per_second=19, attempts=1)
    for _ in range(int(n)):
        airtable.table("Report Types").first()
""")


@pytest.mark.slow
def test_all_processes_together_stay_under_the_base_limit(start_airtable_server, tmp_path, monkeypatch):
    """Code server, daemon and runs are separate processes: the pace is shared through the state dir."""
    monkeypatch.setenv("PAPERPLAN_STATE_DIR", str(tmp_path / "shared"))
    with start_airtable_server(rate_limit_per_s=20, penalty_s=30) as server:
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, server.url, server.base_id, server.api_key, "15"],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        errors = [w.communicate(timeout=60)[1] for w in workers]

    # attempts=1: a single 429 would have failed a worker.
    assert [w.returncode for w in workers] == [0, 0, 0], errors


def test_a_429_waits_out_the_penalty_and_loses_nothing(start_airtable_server):
    with start_airtable_server(rate_limit_per_s=5, penalty_s=1) as server:
        # Deliberately paced too fast, as a misconfigured client would be: the 429s must cost time, not data.
        airtable = AirtableResource(
            api_key=server.api_key,
            base_id=server.base_id,
            endpoint_url=server.url,
            requests_per_second=50,
            penalty_s=1.0,
            attempts=10,
        )
        records = [{"Summary": f"line {i}", "Level": "INFO"} for i in range(80)]
        airtable.table(TABLE_LOGS).batch_create(records)

        summaries = [r["fields"]["Summary"] for r in airtable.table(TABLE_LOGS).all()]
    assert sorted(summaries) == sorted(r["Summary"] for r in records)


def test_transient_5xx_is_retried(airtable, airtable_resource):
    airtable.inject(status=503, count=2)

    airtable_resource.table(TABLE_LOGS).create({"Summary": "after a blip"})

    assert [r["fields"]["Summary"] for r in airtable_resource.table(TABLE_LOGS).all()] == ["after a blip"]


def test_a_persistent_outage_raises_airtable_unavailable(airtable, airtable_resource):
    airtable.inject(status=503, count=100)

    with pytest.raises(AirtableUnavailable, match="503"):
        airtable_resource.model_copy(update={"attempts": 2}).table(TABLE_LOGS).all()


def test_the_api_key_never_shows(airtable_resource):
    assert airtable_resource.api_key not in repr(airtable_resource)
