"""The local Airtable stand-in, driven by the unmodified pyairtable client over real HTTP.

Behaviour is tested on a scratch table created through the metadata API, so these tests do not depend on
how the SYNC base (control_plane/sync_base.json) evolves; the seeding tests read that file for expectations.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

import httpx
import pytest
import requests
from pyairtable import Table
from pyairtable.formulas import AND, EQ, GT, NOT, OR, Field, match

from paperplan_local.airtable.ratelimit import RateLimiter
from paperplan_sync.control_plane.schema import load_base_schema, table_schema
from paperplan_sync_tests.fixtures.airtable import LocalAirtable

SCRATCH_FIELDS = [
    {"name": "Name", "type": "singleLineText"},
    {"name": "Kind", "type": "singleLineText"},
    {"name": "Rows", "type": "number", "options": {"precision": 0}},
    {"name": "Price", "type": "number", "options": {"precision": 2}},
    {"name": "Date", "type": "date", "options": {"dateFormat": {"name": "iso"}}},
    {
        "name": "Updated",
        "type": "dateTime",
        "options": {"timeZone": "utc", "dateFormat": {"name": "iso"}, "timeFormat": {"name": "24hour"}},
    },
    {"name": "Fail", "type": "checkbox", "options": {"icon": "check", "color": "redBright"}},
    {"name": "Level", "type": "singleSelect", "options": {"choices": [{"name": "INFO"}, {"name": "ERROR"}]}},
    {"name": "Tags", "type": "multipleSelects", "options": {"choices": [{"name": "a"}, {"name": "b"}]}},
]


@pytest.fixture
def scratch(airtable: LocalAirtable) -> Table:
    """An empty table with one field of each kind the tests need."""
    airtable.api().base(airtable.base_id).create_table("Scratch", fields=SCRATCH_FIELDS)
    return airtable.table("Scratch")


def error_of(excinfo: pytest.ExceptionInfo) -> tuple[int, object]:
    """(status, error type) of a failed pyairtable call; the type is the whole ``error`` when it is a string."""
    response = excinfo.value.response
    error = response.json()["error"]
    return response.status_code, error["type"] if isinstance(error, dict) else error


def names(records: list[dict]) -> list[str]:
    return sorted(r["fields"]["Name"] for r in records)


# --- seeded content ---------------------------------------------------------------------------------


def test_seeded_demo_content(airtable: LocalAirtable):
    report_types = airtable.table("Report Types")
    sales = report_types.first(formula=match({"Name": "sales_report"}))
    assert sales["fields"]["Offset"] == 1

    id_by_name = {r["fields"]["Name"]: r["id"] for r in report_types.all()}
    automations = {r["fields"]["Name"]: r for r in airtable.table("Automations").all()}
    for demo in table_schema("Automations")["demo_records"]:
        linked = automations[demo["Name"]]["fields"].get("Report Types", [])
        assert linked == [id_by_name[name] for name in demo.get("Report Types", [])]


def test_schema_lists_every_sync_table_with_ids(airtable: LocalAirtable):
    schema = airtable.api().base(airtable.base_id).schema()
    assert [t.name for t in schema.tables] == [t["name"] for t in load_base_schema()["tables"]]
    for spec in load_base_schema()["tables"]:
        table = schema.table(spec["name"])
        assert table.id.startswith("tbl") and len(table.id) == 17
        assert [f.name for f in table.fields] == [f["name"] for f in spec["fields"]]
        assert table.primary_field_id == table.fields[0].id
        assert [v.name for v in table.views] == ["Grid view"] + [v["name"] for v in spec.get("views", [])]
    link = schema.table("Automations").field("Report Types")
    assert link.options.linked_table_id == schema.table("Report Types").id


def test_views_apply_their_filter(airtable: LocalAirtable):
    """Every view of the SYNC base lists what its filter formula selects."""
    for spec in load_base_schema()["tables"]:
        views = [v for v in spec.get("views", []) if v.get("filter")]
        if not views:
            continue
        table = airtable.table(spec["name"])
        checkboxes = [f["name"] for f in spec["fields"] if f["type"] == "checkbox"]
        primary = spec["fields"][0]["name"]
        table.batch_create(
            [{primary: f"row {i}", **{c: bool(i >> n & 1) for n, c in enumerate(checkboxes)}} for i in range(8)]
        )
        for view in views:
            expected = sorted(r["id"] for r in table.all(formula=view["filter"]))
            assert sorted(r["id"] for r in table.all(view=view["name"])) == expected


# --- listing ----------------------------------------------------------------------------------------


def test_pagination_returns_all_250_records_in_three_pages(scratch: Table):
    created = scratch.batch_create([{"Name": f"r{i:03d}", "Rows": i} for i in range(250)])

    started = time.perf_counter()
    pages = list(scratch.iterate())
    elapsed = time.perf_counter() - started

    assert [len(p) for p in pages] == [100, 100, 50]
    assert [r["id"] for p in pages for r in p] == [r["id"] for r in created]
    assert elapsed < 1.0
    assert len(scratch.all(page_size=30, max_records=70)) == 70


def test_sort_and_fields(scratch: Table):
    scratch.batch_create([{"Name": n, "Rows": r, "Kind": "x"} for n, r in [("b", 2), ("a", 2), ("c", 9), ("d", None)]])

    rows = scratch.all(sort=["-Rows", "Name"], fields=["Name", "Rows"])
    assert [r["fields"]["Name"] for r in rows] == ["c", "a", "b", "d"]
    assert all(set(r["fields"]) <= {"Name", "Rows"} for r in rows)
    assert "Rows" not in rows[-1]["fields"]  # empty cells are left out, as Airtable does
    assert [r["fields"]["Name"] for r in scratch.all(sort=["Rows", "-Name"])] == ["d", "b", "a", "c"]


def test_select_fields_sort_in_option_order(scratch: Table):
    scratch.batch_create([{"Name": "e", "Level": "ERROR"}, {"Name": "i", "Level": "INFO"}])
    assert [r["fields"]["Name"] for r in scratch.all(sort=["Level"])] == ["i", "e"]


def test_a_formula_too_long_for_a_url_goes_through_list_records_post(scratch: Table):
    scratch.batch_create([{"Name": "wanted"}, {"Name": "other"}])
    decoys = [EQ(Field("Name"), f"decoy-{i:04d}-with-some-padding") for i in range(600)]
    formula = OR(*decoys, EQ(Field("Name"), "wanted"))
    assert len(str(formula)) > 16_000
    assert names(scratch.all(formula=formula, sort=["Name"], fields=["Name"])) == ["wanted"]


# --- filterByFormula ----------------------------------------------------------------------------------

FORMULA_ROWS = [
    {
        "Name": "alpha",
        "Kind": "it's",
        "Rows": 10,
        "Date": "2026-01-02",
        "Fail": True,
        "Updated": "2026-01-02T10:00:00.000Z",
        "Tags": ["a", "b"],
    },
    {"Name": "beta", "Kind": "sales", "Rows": 3, "Date": "2026-01-03", "Level": "INFO"},
    {"Name": "gamma", "Kind": "sales", "Fail": True},
]


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("{Name}='alpha'", ["alpha"]),
        ('{Name}="beta"', ["beta"]),
        (match({"Kind": "it's"}), ["alpha"]),  # pyairtable escapes the quote: 'it\'s'
        (match({"Name": "alpha", "Rows": 10}), ["alpha"]),
        (match({"Name": "beta", "Rows": 10}, match_any=True), ["alpha", "beta"]),
        (match({"Rows": (">", 5)}), ["alpha"]),
        ("{Rows}>5", ["alpha"]),
        ("{Rows}>=3", ["alpha", "beta"]),
        ("{Rows}<10", ["beta", "gamma"]),  # an empty number counts as 0
        ("{Rows}<=3", ["beta", "gamma"]),
        ("{Rows}!=3", ["alpha", "gamma"]),
        ("{Name}", ["alpha", "beta", "gamma"]),
        ("{Level}", ["beta"]),
        ("{Fail}", ["alpha", "gamma"]),
        ("{Fail}=TRUE()", ["alpha", "gamma"]),
        ("{Fail}=FALSE()", ["beta"]),
        ("NOT({Fail})", ["beta"]),
        ("{Date}=BLANK()", ["gamma"]),
        ("{Date}!=BLANK()", ["alpha", "beta"]),
        ("{Kind}=''", []),
        ("AND({Fail}, {Date}!=BLANK())", ["alpha"]),
        ("OR({Name}='beta', {Rows}=10)", ["alpha", "beta"]),
        ("{Date}>DATETIME_PARSE('2026-01-02')", ["beta"]),
        (AND(GT(Field("Rows"), 5), EQ(Field("Date"), date(2026, 1, 2))), ["alpha"]),
        (EQ(Field("Date"), date(2026, 1, 3)), ["beta"]),
        (EQ(Field("Updated"), datetime(2026, 1, 2, 10, tzinfo=timezone.utc)), ["alpha"]),
        (NOT(EQ(Field("Name"), "alpha")), ["beta", "gamma"]),
        ("{Tags}='a, b'", ["alpha"]),
        ("FIND('amm', {Name})", ["gamma"]),
        ("{Rows} * 2 + 1 = 21", ["alpha"]),
    ],
)
def test_formula_filtering(scratch: Table, formula, expected):
    scratch.batch_create(FORMULA_ROWS)
    assert names(scratch.all(formula=formula)) == expected


@pytest.mark.parametrize("formula", ["REGEX_MATCH({Name}, 'a')", "{Nope}=1", "AND({Name}='a'", "{Name} ~ 1"])
def test_unsupported_or_broken_formulas_are_422(scratch: Table, formula):
    with pytest.raises(requests.HTTPError) as excinfo:
        scratch.all(formula=formula)
    assert error_of(excinfo) == (422, "INVALID_FILTER_BY_FORMULA")


# --- writing ----------------------------------------------------------------------------------------


def test_unknown_field_fails_the_whole_write(scratch: Table):
    with pytest.raises(requests.HTTPError) as excinfo:
        scratch.batch_create([{"Name": "fine"}, {"Name": "bad", "Nope": 1}])
    assert error_of(excinfo) == (422, "UNKNOWN_FIELD_NAME")
    assert scratch.all() == []


def test_unknown_select_option_needs_typecast(scratch: Table):
    for fields in ({"Level": "DEBUG"}, {"Tags": ["a", "c"]}):
        with pytest.raises(requests.HTTPError) as excinfo:
            scratch.create({"Name": "x", **fields})
        assert error_of(excinfo) == (422, "INVALID_MULTIPLE_CHOICE_OPTIONS")
    assert scratch.all() == []

    record = scratch.create({"Name": "x", "Level": "DEBUG", "Tags": ["a", "c"]}, typecast=True)
    assert record["fields"]["Level"] == "DEBUG" and record["fields"]["Tags"] == ["a", "c"]
    schema = scratch.schema(force=True)
    assert [c.name for c in schema.field("Level").options.choices] == ["INFO", "ERROR", "DEBUG"]
    assert [c.name for c in schema.field("Tags").options.choices] == ["a", "b", "c"]


def test_typecast_options_are_rolled_back_with_a_failed_write(scratch: Table):
    with pytest.raises(requests.HTTPError):
        scratch.batch_create([{"Level": "NEW"}, {"Nope": 1}], typecast=True)
    assert "NEW" not in [c.name for c in scratch.schema(force=True).field("Level").options.choices]


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"Rows": "many"}, "Rows"),
        ({"Date": "yesterday"}, "Date"),
        ({"Fail": "yes"}, "Fail"),
        ({"Name": ["a"]}, "Name"),
        ({"Updated": "soon"}, "Updated"),
    ],
)
def test_wrong_value_types_are_422(scratch: Table, fields, bad):
    with pytest.raises(requests.HTTPError) as excinfo:
        scratch.create(fields)
    assert error_of(excinfo) == (422, "INVALID_VALUE_FOR_COLUMN")
    assert bad in excinfo.value.response.json()["error"]["message"]


def test_values_are_normalised_like_airtable(scratch: Table):
    record = scratch.create(
        {"Name": "n", "Updated": "2026-01-02T03:04:05+02:00", "Rows": 4.0, "Fail": False, "Kind": ""}
    )
    assert record["fields"] == {"Name": "n", "Updated": "2026-01-02T01:04:05.000Z", "Rows": 4}
    assert scratch.create({"Rows": "1,234", "Fail": "true"}, typecast=True)["fields"] == {"Rows": 1234, "Fail": True}


def test_more_than_ten_records_per_write_is_422(scratch: Table):
    for method, body in [
        ("post", {"records": [{"fields": {}}] * 11}),
        ("patch", {"records": [{"id": "recAAAAAAAAAAAAAA", "fields": {}}] * 11}),
    ]:
        with pytest.raises(requests.HTTPError) as excinfo:
            scratch.api.request(method, scratch.urls.records, json=body)
        assert error_of(excinfo) == (422, "INVALID_RECORDS")
    assert scratch.all() == []
    assert len(scratch.batch_create([{"Name": str(i)} for i in range(25)])) == 25  # pyairtable chunks by 10


def test_batch_upsert_creates_then_updates_by_key_fields(scratch: Table):
    first = scratch.batch_upsert(
        [{"fields": {"Name": n, "Kind": "k", "Price": 1.5}} for n in "ABC"], key_fields=["Name", "Kind"]
    )
    assert len(first["createdRecords"]) == 3 and first["updatedRecords"] == []

    second = scratch.batch_upsert(
        [{"fields": {"Name": n, "Kind": "k", "Price": 2.25, "Rows": 7}} for n in "ABCD"], key_fields=["Name", "Kind"]
    )
    assert sorted(second["updatedRecords"]) == sorted(first["createdRecords"])
    assert len(second["createdRecords"]) == 1

    rows = scratch.all(sort=["Name"])
    assert [r["fields"]["Name"] for r in rows] == ["A", "B", "C", "D"]
    assert {r["fields"]["Price"] for r in rows} == {2.25}


def test_update_replace_and_delete(scratch: Table):
    record = scratch.create({"Name": "r", "Rows": 1, "Fail": True})
    assert scratch.update(record["id"], {"Rows": 2})["fields"] == {"Name": "r", "Rows": 2, "Fail": True}
    assert scratch.update(record["id"], {"Rows": 3}, replace=True)["fields"] == {"Rows": 3}
    assert scratch.batch_delete([record["id"]]) == [{"id": record["id"], "deleted": True}]
    assert scratch.all() == []


def test_deleting_a_linked_record_unlinks_it(airtable: LocalAirtable):
    report_types, automations = airtable.table("Report Types"), airtable.table("Automations")
    linked = next(r for r in automations.all() if r["fields"].get("Report Types"))
    gone = linked["fields"]["Report Types"][0]
    report_types.delete(gone)
    assert all(gone not in r["fields"].get("Report Types", []) for r in automations.all())


# --- auth and missing things ----------------------------------------------------------------------------


def test_auth_is_required(airtable: LocalAirtable):
    response = httpx.get(f"{airtable.url}/v0/{airtable.base_id}/Logs")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "AUTHENTICATION_REQUIRED"
    with pytest.raises(requests.HTTPError) as excinfo:
        airtable.table("Logs", api_key="patWrongKey.0000").all()
    assert error_of(excinfo) == (401, "AUTHENTICATION_REQUIRED")


def test_unknown_base_table_and_record_are_404(airtable: LocalAirtable):
    with pytest.raises(requests.HTTPError) as excinfo:
        airtable.table("Nope").all()
    assert error_of(excinfo) == (404, "TABLE_NOT_FOUND")
    with pytest.raises(requests.HTTPError) as excinfo:
        airtable.table("Logs").get("recAAAAAAAAAAAAAA")
    assert error_of(excinfo)[0] == 404
    with pytest.raises(requests.HTTPError) as excinfo:
        airtable.api().table("appAAAAAAAAAAAAAA", "Logs").all()
    assert error_of(excinfo) == (404, "NOT_FOUND")


def test_tables_are_addressable_by_id_and_by_encoded_name(airtable: LocalAirtable):
    by_name = airtable.table("Report Types")  # pyairtable sends Report%20Types
    assert len(by_name.all()) == len(table_schema("Report Types")["demo_records"])
    assert airtable.table(by_name.schema().id).all() == by_name.all()


# --- metadata -------------------------------------------------------------------------------------------


def test_create_table_and_fields(airtable: LocalAirtable):
    base = airtable.api().base(airtable.base_id)
    table = base.create_table(
        "Notebook",
        fields=[
            {"name": "Key", "type": "singleLineText"},
            {"name": "Size", "type": "number", "options": {"precision": 0}},
        ],
    )
    notes = table.create_field("Notes", "multilineText")
    kind = table.create_field("Kind", "singleSelect", options={"choices": [{"name": "big"}, {"name": "small"}]})
    assert kind.options.choices[0].id.startswith("sel")

    record = table.create({"Key": "k", "Size": 3, "Notes": "n", "Kind": "big"})
    assert record["fields"] == {"Key": "k", "Size": 3, "Notes": "n", "Kind": "big"}

    notes.name = "Remarks"
    notes.save()
    assert [f.name for f in base.schema(force=True).table("Notebook").fields] == ["Key", "Size", "Remarks", "Kind"]
    assert table.get(record["id"])["fields"]["Remarks"] == "n"

    with pytest.raises(requests.HTTPError) as excinfo:
        table.create_field("Kind", "singleLineText")
    assert excinfo.value.response.status_code == 422


# --- rate limit and faults --------------------------------------------------------------------------------


@pytest.mark.slow
def test_rate_limit_then_penalty_window(start_airtable_server):
    with start_airtable_server(rate_limit_per_s=5, penalty_s=1) as strict:
        api = strict.api(retry_strategy=None)
        table = api.table(strict.base_id, "Report Types")

        for _ in range(6):  # evenly spaced at the limit: never refused
            table.first()
            time.sleep(0.21)

        statuses = []
        for _ in range(7):  # a burst, meta requests included
            try:
                api.whoami()
                statuses.append(200)
            except requests.HTTPError as exc:
                statuses.append(exc.response.status_code)
        assert statuses == [200] * 5 + [429, 429]

        time.sleep(0.5)  # tokens are back, but the penalty is not over
        with pytest.raises(requests.HTTPError) as excinfo:
            table.first()
        assert excinfo.value.response.status_code == 429
        assert excinfo.value.response.json()["errors"][0]["error"] == "RATE_LIMIT_REACHED"
        assert strict.stats()["in_penalty"]  # /_test requests are never limited

        time.sleep(0.6)
        assert table.first() is not None
        assert strict.stats()["rate_limited"] == 3


def test_an_evenly_spaced_client_never_trips_the_bucket():
    now = [0.0]
    limiter = RateLimiter(5, 30, clock=lambda: now[0])
    for _ in range(1000):
        assert limiter.allow()
        now[0] += 0.2
    assert all(limiter.allow() for _ in range(5)) and not limiter.allow()  # the bucket holds 5
    now[0] += 29.9
    assert not limiter.allow()  # still in the 30 s penalty
    now[0] += 0.2
    assert limiter.allow()


def test_injected_status_and_hang(airtable: LocalAirtable):
    table = airtable.table("Report Types", retry_strategy=None)
    airtable.inject(status=503, count=2)
    for _ in range(2):
        with pytest.raises(requests.HTTPError) as excinfo:
            table.first()
        assert error_of(excinfo) == (503, "RETRIABLE_ERROR")
    assert table.first() is not None

    airtable.inject(hang_s=0.5, count=1)
    with pytest.raises(requests.Timeout):
        airtable.table("Report Types", retry_strategy=None, timeout=(2, 0.2)).first()
    airtable.inject(status=503, count=5)
    airtable.clear_faults()
    assert table.first() is not None
    assert airtable.stats()["faults"] == 3


def test_test_endpoints_are_absent_without_fault_injection(start_airtable_server):
    with start_airtable_server(enable_fault_injection=False) as plain:
        assert httpx.post(f"{plain.url}/_test/faults", json={"status": 503}).status_code == 404
        assert httpx.post(f"{plain.url}/_test/reset").status_code == 404
        assert plain.api().whoami()["id"].startswith("usr")


# --- persistence ------------------------------------------------------------------------------------------


def test_state_survives_a_restart(start_airtable_server, tmp_path):
    with start_airtable_server(state_dir=tmp_path) as first:
        table = first.table("Logs")
        record = table.create({"Summary": "kept"})
        table_id = table.schema().id
        report_types = len(first.table("Report Types").all())
    assert (tmp_path / "airtable.sqlite3").exists()

    with start_airtable_server(state_dir=tmp_path) as second:
        table = second.table("Logs")
        assert table.get(record["id"])["fields"] == {"Summary": "kept"}
        assert table.schema().id == table_id
        assert len(second.table("Report Types").all()) == report_types  # not seeded twice
