"""The SP-API stand-in's answers that load but are wrong (for the data-quality checks), over real HTTP:
a fraction of a day's rows, a renamed column, a marketplace missing; and orders spread over the requested
marketplaces."""

from __future__ import annotations

import csv
import gzip
import io
import time
from collections import Counter
from datetime import date

import httpx
import pytest

from paperplan_local.runner import ServerThread
from paperplan_local.spapi import build_app, data
from paperplan_sync_tests.local.test_spapi_server import API, ORDERS, token_for

US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
DAYS = (date(2026, 11, 5), date(2026, 11, 6))


@pytest.fixture(scope="module")
def server():
    app = build_app(seed=3, rate_limit_scale=1000.0, processing_delay_s=0.05, enable_fault_injection=True)
    with ServerThread(app) as srv:
        yield srv


@pytest.fixture
def api(server):
    client = httpx.Client(
        base_url=server.url, headers={"x-amz-access-token": token_for(server.url).json()["access_token"]}
    )
    yield client
    client.delete("/_test/faults")
    client.close()


def orders(api, markets=(US,)) -> list[dict[str, str]]:
    body = {
        "reportType": ORDERS,
        "marketplaceIds": list(markets),
        "dataStartTime": f"{DAYS[0]}T00:00:00-07:00",
        "dataEndTime": f"{DAYS[-1]}T23:59:59-07:00",
    }
    report_id = api.post(f"{API}/reports", json=body).json()["reportId"]
    deadline = time.monotonic() + 10
    while (rep := api.get(f"{API}/reports/{report_id}").json())["processingStatus"] != "DONE":
        assert time.monotonic() < deadline, rep
        time.sleep(0.02)
    doc = api.get(f"{API}/documents/{rep['reportDocumentId']}").json()
    text = gzip.decompress(httpx.get(doc["url"]).content).decode("cp1252")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def per_day(rows: list[dict[str, str]]) -> Counter:
    return Counter(r["purchase-date"][:10] for r in rows)


def test_orders_spread_over_the_requested_marketplaces_mostly_the_first(api):
    assert {r["sales-channel"] for r in orders(api)} == {"Amazon.com"}
    channels = Counter(r["sales-channel"] for r in orders(api, (US, CA)))
    assert set(channels) == {"Amazon.com", "Amazon.ca"} and channels["Amazon.com"] > 2 * channels["Amazon.ca"]


def test_a_fraction_of_one_days_rows(api):
    full = orders(api)
    api.post("/_test/faults", json={"report_type": ORDERS, "keep_fraction": 0.3, "fault_days": ["2026-11-06"]})
    thinned = orders(api)
    kept = len([r for r in thinned if r["purchase-date"] >= "2026-11-06T07"]) / len(
        [r for r in full if r["purchase-date"] >= "2026-11-06T07"]
    )
    assert 0.2 < kept < 0.4
    assert [r for r in thinned if r["purchase-date"] < "2026-11-06T07"] == [
        r for r in full if r["purchase-date"] < "2026-11-06T07"
    ]  # the other day is whole
    assert thinned == orders(api)  # deterministic: the same rows each time


def test_a_renamed_column(api):
    api.post("/_test/faults", json={"report_type": ORDERS, "rename_columns": {"item-price": "item_price"}})
    rows = orders(api)
    assert "item-price" not in rows[0] and rows[0]["item_price"]


def test_a_missing_marketplace(api):
    api.post("/_test/faults", json={"report_type": ORDERS, "drop_marketplaces": [CA]})
    rows = orders(api, (US, CA))
    assert {r["sales-channel"] for r in rows} == {"Amazon.com"}


def test_a_steady_shop_has_no_day_below_half_or_above_double_its_weekday_median():
    days = [date(2026, 9, 1).fromordinal(date(2026, 9, 1).toordinal() + n) for n in range(120)]
    counts = {d: len({o.order_id for o in data.orders_on(0, d)}) for d in days}
    for d in days[28:]:
        usual = sorted(counts[date.fromordinal(d.toordinal() - 7 * w)] for w in range(1, 5))
        median = (usual[1] + usual[2]) / 2
        assert 0.5 * median < counts[d] < 2 * median, d
