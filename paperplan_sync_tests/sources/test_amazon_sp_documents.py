"""Downloading and parsing report documents through the stand-in: compression, encodings, damage,
expiry, a 200,000-row report with flat memory, JSON, and statuses that move when the clock does."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import dagster as dg
import psutil
import pytest

from paperplan_local.spapi.data import catalog
from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource, DocumentTruncated, ReportDocumentError
from paperplan_sync.sources.base import ReportFailed, ReportRequest
from paperplan_sync.timezones import Zone

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_UPDATED = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
SALES = "GET_SALES_AND_TRAFFIC_REPORT"
DAY = date(2026, 11, 3)


def all_rows(stream):
    return [row for chunk in stream.chunks() for row in chunk]


def test_gzip_and_plain_documents_give_the_same_rows(spapi, spapi_resource):
    _, gz = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    gz_rows = all_rows(gz)
    spapi.inject(compression=None)
    _, plain = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    plain_rows = all_rows(plain)
    assert gz_rows == plain_rows and len(gz_rows) > 50
    assert gz.columns == plain.columns and gz.columns[0] == "amazon-order-id"


def test_flat_file_batches_are_columnar_and_match_the_dict_view(spapi, spapi_resource):
    batches = list(spapi_resource.fetch(ReportRequest(ORDERS, DAY))[1].batches())
    _, again = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    rows = all_rows(again)  # the dict view of the same report
    assert all(b.values is not None and b.columns is batches[0].columns for b in batches)
    assert batches[0].columns == again.columns == list(rows[0])
    assert [r for b in batches for r in b.dicts()] == rows


def test_json_batches_keep_their_dicts(spapi, spapi_resource):
    req = ReportRequest(SALES, DAY, options={"dateGranularity": "DAY", "asinGranularity": "CHILD"})
    batches = list(spapi_resource.fetch(req)[1].batches())
    assert batches and all(b.values is None for b in batches)
    assert batches[0].dicts()[0]["record_type"] == "by_date"


def test_values_stay_strings(spapi, spapi_resource):
    rows = all_rows(spapi_resource.fetch(ReportRequest(ORDERS, DAY))[1])
    assert all(isinstance(v, str) for r in rows for v in r.values())
    assert {r["currency"] for r in rows} == {"USD"}


def test_cp1252_flat_file_is_decoded(spapi, spapi_resource):
    rows = all_rows(spapi_resource.fetch(ReportRequest(LISTINGS))[1])
    names = {r["item-name"] for r in rows}
    assert "Café Planner 2026 – Weekly" in names  # é and the en dash are single cp1252 bytes
    assert "Bücherstütze Größe M" in names
    assert not any("\ufffd" in n for n in names)
    described = next(r for r in rows if r["item-name"] == "Dot Grid Notebook A5")
    assert '"paper you\'ll love"' in described["item-description"]  # quotes are data, not CSV quoting


def test_utf8_flat_file_is_decoded(spapi, spapi_resource):
    rows = all_rows(spapi_resource.fetch(ReportRequest(INVENTORY))[1])  # served as UTF-8
    expected = {p.name for p in catalog(0) if p.afn}
    assert {r["product-name"] for r in rows} == expected
    assert any(not name.isascii() for name in expected)


def test_malformed_rows_are_quarantined_with_line_numbers(spapi, spapi_resource):
    _, clean = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    n_clean = len(all_rows(clean))
    spapi.inject(report_type=ORDERS, malformed_rows=[3, 7, 40])
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    rows = all_rows(stream)
    assert len(rows) == n_clean - 3
    assert [q.line for q in stream.quarantined] == [3, 7, 40]
    assert all("expected 32 tab-separated fields, found 31" in q.reason for q in stream.quarantined)
    assert stream.quarantined[0].raw.count("\t") == 30


def test_undecodable_rows_are_quarantined(spapi, spapi_resource):
    spapi.inject(report_type=ORDERS, undecodable_rows=[5], malformed_rows=[9])
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    rows = all_rows(stream)
    assert [(q.line, q.reason.split(" (")[0]) for q in stream.quarantined] == [
        (5, "undecodable bytes"),
        (9, "expected 32 tab-separated fields, found 31"),
    ]
    assert "\\x81" in stream.quarantined[0].raw
    assert stream.rows_read == len(rows) > 50


def test_truncated_gzip_raises_after_quarantining_the_cut_line(spapi, spapi_resource):
    spapi.inject(report_type=ORDERS, truncate_gzip=True)
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    with pytest.raises(DocumentTruncated) as err:
        all_rows(stream)
    assert isinstance(err.value, ReportFailed)  # the asset layer sees a failed report
    assert "truncated" in str(err.value)
    assert len(stream.quarantined) == 1 and "truncated" in stream.quarantined[0].reason
    assert stream.quarantined[0].line > 2


def test_expired_document_url_is_fetched_again(spapi, spapi_resource):
    spapi.inject(expire_document_urls=1)
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    assert len(all_rows(stream)) > 50
    stats = spapi.stats()
    assert stats["downloads"]["expired"] == 1
    assert stats["calls"]["getReportDocument"] == 2


def test_document_url_that_keeps_expiring_is_a_clear_error(spapi, spapi_resource):
    spapi.inject(expire_document_urls=10)
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    with pytest.raises(ReportDocumentError, match="HTTP 403 AccessDenied"):
        all_rows(stream)


def test_sales_and_traffic_json_is_flattened(spapi, spapi_resource):
    req = ReportRequest(SALES, DAY, options={"dateGranularity": "DAY", "asinGranularity": "CHILD"})
    _, stream = spapi_resource.fetch(req)
    rows = all_rows(stream)
    by_date = [r for r in rows if r["record_type"] == "by_date"]
    by_asin = [r for r in rows if r["record_type"] == "by_asin"]
    assert [r["date"] for r in by_date] == [DAY.isoformat()]
    assert len(by_asin) > 5
    assert {
        "salesByDate_orderedProductSales_amount",
        "trafficByDate_sessions",
        "childAsin",
        "salesByAsin_unitsOrdered",
    } <= set(stream.columns)
    assert float(by_date[0]["salesByDate_orderedProductSales_amount"]) > 0
    assert sum(int(r["salesByAsin_unitsOrdered"]) for r in by_asin) == int(by_date[0]["salesByDate_unitsOrdered"])


def test_repull_of_an_old_day_shows_statuses_moving_on(spapi, spapi_resource):
    tz = Zone.from_hours(-7).tzinfo
    spapi.set_today(DAY + timedelta(days=1))
    early = {
        (r["amazon-order-id"], r["sku"]): r for r in all_rows(spapi_resource.fetch(ReportRequest(ORDERS, DAY, tz))[1])
    }
    spapi.set_today(DAY + timedelta(days=25))
    late = {
        (r["amazon-order-id"], r["sku"]): r for r in all_rows(spapi_resource.fetch(ReportRequest(ORDERS, DAY, tz))[1])
    }
    assert early.keys() == late.keys()  # same orders ...
    early_status = {r["order-status"] for r in early.values()}
    late_status = {r["order-status"] for r in late.values()}
    assert "Pending" in early_status
    assert late_status <= {"Shipped", "Cancelled"}  # ... all settled 21+ days later
    changed = [k for k in early if early[k]["order-status"] != late[k]["order-status"]]
    assert changed and all(late[k]["last-updated-date"] > early[k]["last-updated-date"] for k in changed)


def test_orders_by_last_update_include_older_purchases(spapi, spapi_resource):
    rows = all_rows(spapi_resource.fetch(ReportRequest(ORDERS_UPDATED, DAY, Zone.from_hours(0).tzinfo))[1])
    purchase_days = {r["purchase-date"][:10] for r in rows}
    assert all(r["last-updated-date"].startswith(DAY.isoformat()) for r in rows)
    assert len(purchase_days) > 3  # orders bought days ago, settled on DAY


def test_chunks_never_exceed_chunk_rows(spapi):
    res = spapi.resource(chunk_rows=37)
    _, stream = res.fetch(ReportRequest(ORDERS, DAY))
    sizes = [len(c) for c in stream.chunks()]
    assert max(sizes) == 37 and all(s == 37 for s in sizes[:-1]) and sum(sizes) == stream.rows_read


class _PeakRss:
    """Samples this process's RSS in the background (the stand-in runs in-process, so it counts too)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20


@pytest.mark.slow
def test_200k_row_report_streams_with_flat_memory(spapi):
    n = 200_000
    spapi.inject(report_type=ORDERS, rows=n)
    res = spapi.resource(chunk_rows=5000)
    report, stream = res.fetch(ReportRequest(ORDERS, DAY))
    seen = max_chunk = 0
    ids: set[str] = set()
    t0 = time.monotonic()
    with _PeakRss() as rss:
        for chunk in stream.chunks():
            max_chunk = max(max_chunk, len(chunk))
            seen += len(chunk)
            ids.add(chunk[-1]["amazon-order-id"])
    elapsed = time.monotonic() - t0
    assert seen == n == stream.rows_read and not stream.quarantined
    assert max_chunk == 5000
    assert len(ids) == n // 5000  # rows are distinct, not a repeated chunk
    # All 200k rows as dicts would need ~600 MB; streaming keeps a few chunks (server side included).
    assert rss.growth_mb < 120, f"RSS grew {rss.growth_mb:.0f} MB"
    assert elapsed < 30


def test_download_5xx_before_any_byte_is_retried(spapi, spapi_resource):
    spapi.inject(status_5xx=2, operation="download")
    _, stream = spapi_resource.fetch(ReportRequest(ORDERS, DAY))
    assert len(all_rows(stream)) > 50
    assert spapi.stats()["downloads"]["requests"] == 3


def test_works_as_a_dagster_resource_configured_from_env_vars(spapi, monkeypatch):
    from paperplan_sync.resources import source_resource

    env = {
        "SPAPI_LWA_CLIENT_ID": spapi.client_id,
        "SPAPI_LWA_CLIENT_SECRET": spapi.client_secret,
        "SPAPI_REFRESH_TOKEN": spapi.refresh_token,
        "SPAPI_ENDPOINT": spapi.url,
        "SPAPI_LWA_ENDPOINT": spapi.url + "/auth/o2/token",
        "SPAPI_MARKETPLACE_IDS": "ATVPDKIKX0DER",
        "SPAPI_POLL_INITIAL_S": "0.02",
        "SPAPI_RATE_LIMIT_SCALE": "1000",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    resource = source_resource("amazon_sp").model_copy(update={"poll_max_s": 0.1})  # the production wiring
    assert spapi.client_secret not in repr(resource)

    @dg.asset
    def spapi_orders(amazon_sp: AmazonSPReportsResource) -> int:
        report, stream = amazon_sp.fetch(ReportRequest(ORDERS, DAY))
        return sum(len(c) for c in stream.chunks())

    result = dg.materialize([spapi_orders], resources={"amazon_sp": resource})
    assert result.success and result.output_for_node("spapi_orders") > 50


def test_abandoned_stream_releases_its_download_thread(spapi):
    import gc

    spapi.inject(report_type=ORDERS, rows=100_000)
    res = spapi.resource(chunk_rows=1000)
    _, stream = res.fetch(ReportRequest(ORDERS, DAY))
    chunks = stream.chunks()
    assert len(next(chunks)) == 1000
    assert any(t.name.startswith("download:") for t in threading.enumerate())
    chunks.close()
    del chunks, stream
    gc.collect()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("download:") for t in threading.enumerate()):
        assert time.monotonic() < deadline, "download thread still running"
        time.sleep(0.05)
