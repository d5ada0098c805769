"""The local Airtable's page (http://127.0.0.1:8701/) in headless Chromium: the grid shows the demo rows, and
a form edit made there is what the product then reads. Add, delete, select, date and a bad value are posted
as the page's forms post them (plain HTML forms, so any HTTP client submits them as a browser does)."""

from __future__ import annotations

import re
import subprocess
from datetime import time as clock

import httpx
import pytest

from paperplan_sync.config.loader import load_config
from paperplan_sync_tests.e2e.devtools import browser
from paperplan_sync_tests.e2e.test_browser import (
    CHROMIUM_FLAGS,
    chromium,  # noqa: F401 - the fixture, used by name
)

pytestmark = pytest.mark.e2e


def table_id(airtable, name: str) -> str:
    tables = httpx.get(
        f"{airtable.url}/v0/meta/bases/{airtable.base_id}/tables",
        headers={"Authorization": f"Bearer {airtable.api_key}"},
    ).json()
    return next(t["id"] for t in tables["tables"] if t["name"] == name)


def automation(airtable, name: str) -> dict:
    return airtable.table("Automations").first(formula=f"{{Name}}='{name}'")


def test_the_grid_shows_the_demo_rows(airtable, chromium, tmp_path):  # noqa: F811
    url = f"{airtable.url}/tables/{table_id(airtable, 'Automations')}"
    shot = tmp_path / "automations-grid.png"
    proc = subprocess.run(
        [
            str(chromium),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    print(f"\nscreenshot: {shot}")
    dom = proc.stdout
    rows = re.findall(r'<tr id="(rec\w+)"', dom)
    assert len(rows) == 4, dom[:2000]
    for name in ("Daily reports", "Inventory every 2 hours", "Weekly listings", "Returns (paused)"):
        assert f'value="{name}"' in dom
    for header in ("Name", "Time", "Run", "Disable", "Report Types"):
        assert f"<th>{header}<small>" in dom
    assert re.search(r'<option selected(="")?>Weekly</option>', dom) and re.search(
        r'<option value="rec\w+" selected(="")?>sales_report</option>', dom
    )
    png = shot.read_bytes()
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (
        png[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (1400, 1000) and len(png) > 20_000
    )  # a rendered page, not a blank one
    # The table list links every table.
    home = subprocess.run(
        [str(chromium), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom", airtable.url + "/"],
        capture_output=True,
        text=True,
        timeout=90,
    ).stdout
    assert "Automations</a> (4 records)" in home and "Report Types</a> (7 records)" in home


def test_a_time_edited_in_the_browser_is_what_the_product_reads(airtable, airtable_resource, chromium, tmp_path):  # noqa: F811
    record = automation(airtable, "Daily reports")
    automations = table_id(airtable, "Automations")
    base = airtable.api().base(airtable.base_id)
    hook = base.add_webhook(
        None, {"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": automations}}}
    )
    with browser(chromium, tmp_path / "profile") as page:
        page.open(f"{airtable.url}/tables/{automations}")
        # A person's edit: type into the row's Time cell, tick Disable, press the row's Save.
        page.submit(f"""(() => {{ const f = 'r-{record["id"]}';
            const time = document.querySelector(`input[form="${{f}}"][name="Time"]`); time.value = '07:15';
            document.querySelector(`input[type=checkbox][form="${{f}}"][name="Disable"]`).checked = true;
            document.querySelector(`button[form="${{f}}"]`).click(); }})()""")
        assert "Saved Time, Disable" in page.eval("document.querySelector('.note').textContent")

        # A bad value in a Number cell (Report Types' Offset; Timezone is text since it takes zone names):
        # Airtable's own error, on the page; nothing changes.
        sales = airtable.table("Report Types").first(formula="{Name}='sales_report'")
        page.open(f"{airtable.url}/tables/{table_id(airtable, 'Report Types')}")
        page.submit(f"""(() => {{ const f = 'r-{sales["id"]}';
            document.querySelector(`input[form="${{f}}"][name="Offset"]`).value = 'minus seven';
            document.querySelector(`button[form="${{f}}"]`).click(); }})()""")
        error = page.eval("document.querySelector('.error') && document.querySelector('.error').textContent")
        assert error and error.startswith("INVALID_VALUE_FOR_COLUMN") and "Offset" in error, error

        print(f"\nscreenshot: {page.screenshot(tmp_path / 'bad-value.png')}")

    daily = next(a for a in load_config(airtable_resource).automations if a.name == "Daily reports")
    assert daily.at == clock(7, 15) and daily.disabled and daily.zone.hours == -7
    # To the product's change detection it is a person's edit, of the two cells only.
    (payload,) = base.webhook(hook.id).payloads()
    assert payload.action_metadata.source == "client"
    changed = (
        payload.changed_tables_by_id[automations].changed_records_by_id[record["id"]].current.cell_values_by_field_id
    )
    fields = {f.id: f.name for f in base.schema().table("Automations").fields}
    assert {fields[k]: v for k, v in changed.items()} == {"Time": "07:15", "Disable": True}


def test_add_edit_and_delete_rows_through_the_forms(airtable, airtable_resource):
    ui = httpx.Client(base_url=airtable.url, follow_redirects=True, timeout=10)
    automations, report_types = table_id(airtable, "Automations"), table_id(airtable, "Report Types")
    sales = airtable.table("Report Types").first(formula="{Name}='sales_report'")

    page = ui.post(
        f"/tables/{automations}/records",
        data={
            "Name": "Evening orders",
            "Time": "18:30",
            "Timezone": "-7",
            "Run": "Daily",
            "Report Types": [sales["id"]],
        },
    )
    assert page.status_code == 200 and "Row added" in page.text
    added = automation(airtable, "Evening orders")
    assert added["fields"] == {
        "Name": "Evening orders",
        "Time": "18:30",
        "Timezone": "-7",  # a text field: hours or an IANA name
        "Run": "Daily",
        "Report Types": [sales["id"]],
    }
    assert any(a.name == "Evening orders" and a.at == clock(18, 30) for a in load_config(airtable_resource).automations)

    # A single select and a date (Report Types): only the changed cells are written.
    record = sales
    form = {"Name": "sales_report", "Status": "Inactive", "Start Date": "2026-01-05"}
    form.update({k: str(v) for k, v in record["fields"].items() if k not in form and not isinstance(v, (bool, list))})
    form.update({k: "1" for k, v in record["fields"].items() if v is True})
    page = ui.post(
        f"/tables/{report_types}/records/{record['id']}",
        data=form | {"Destination": record["fields"].get("Destination", [])},
    )
    assert "Saved Status, Start Date" in page.text, page.text[-800:]
    after = airtable.table("Report Types").get(record["id"])["fields"]
    assert after["Status"] == "Inactive" and after["Start Date"] == "2026-01-05"
    assert {k: v for k, v in after.items() if k not in ("Status", "Start Date")} == {
        k: v for k, v in record["fields"].items() if k not in ("Status", "Start Date")
    }

    # A choice the field does not have: Airtable's error, nothing written.
    page = ui.post(f"/tables/{report_types}/records/{record['id']}", data=form | {"Status": "Sometimes"})
    assert page.status_code == 422 and 'role="alert">INVALID_MULTIPLE_CHOICE_OPTIONS' in page.text, page.text[-800:]
    assert airtable.table("Report Types").get(record["id"])["fields"]["Status"] == "Inactive"

    # A form that leaves cells out (unticked boxes and empty multiple selects send nothing) leaves them alone.
    before = airtable.table("Report Types").get(record["id"])["fields"]
    assert "Saved Status" in ui.post(f"/tables/{report_types}/records/{record['id']}", data={"Status": "Active"}).text
    assert airtable.table("Report Types").get(record["id"])["fields"] == before | {"Status": "Active"}

    page = ui.post(f"/tables/{automations}/records/{added['id']}/delete")
    assert "Row deleted" in page.text and automation(airtable, "Evening orders") is None


def test_a_long_table_is_shown_a_hundred_rows_a_page_and_an_edit_returns_to_its_page(airtable):
    logs = airtable.table("Logs")
    logs.batch_create([{"Summary": f"line {n}"} for n in range(150)])
    ui = httpx.Client(base_url=airtable.url, follow_redirects=True, timeout=10)
    logs_id = table_id(airtable, "Logs")
    last = ui.get(f"/tables/{logs_id}").text  # the last page first: new rows are there
    assert 'value="line 149"' in last and 'value="line 99"' not in last and "150 records, 100 a page" in last
    first = ui.get(f"/tables/{logs_id}?page=1").text
    assert 'value="line 0"' in first and 'value="line 100"' not in first
    record = logs.first(formula="{Summary}='line 3'")
    page = ui.post(f"/tables/{logs_id}/records/{record['id']}", data={"Summary": "line three"})
    assert "Saved Summary" in page.text and 'value="line three"' in page.text and str(page.url).endswith("page=1")
