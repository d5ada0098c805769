"""Resources for a deployment, chosen in one place. Secrets only through dagster.EnvVar."""

from __future__ import annotations

import os

import dagster as dg

from paperplan_sync.control_plane.airtable import AIRTABLE_DEFAULT_ENDPOINT, AirtableResource


def production_resources() -> dict[str, object]:
    return {
        "airtable": AirtableResource(
            api_key=dg.EnvVar("AIRTABLE_API_KEY"),
            base_id=dg.EnvVar("AIRTABLE_BASE_ID"),
            endpoint_url=os.environ.get("AIRTABLE_ENDPOINT_URL") or AIRTABLE_DEFAULT_ENDPOINT,
        ),
    }
