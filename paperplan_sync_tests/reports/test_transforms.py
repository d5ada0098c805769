"""Duplicate keys and datapoints read the same from a columnar RowBatch, a dict RowBatch or a list of dicts."""

from __future__ import annotations

import pytest

from paperplan_sync.reports.catalog import CATALOG
from paperplan_sync.reports.transforms import DatapointAccumulator, DuplicateKeyCounter
from paperplan_sync.sources.amazon_sp.catalog import ORDERS_BY_DATE, SALES_AND_TRAFFIC
from paperplan_sync.sources.base import RowBatch

COLUMNS = ["amazon-order-id", "sku", "quantity", "item-price", "order-status"]
VALUES = [
    ["111-1", "A", "1", "10.00", "Shipped"],
    ["111-1", "B", "2", "4.50", "Pending"],
    ["111-2", "A", "3", "1,000.00", "Cancelled"],
    ["111-1", "A", "1", "10.00", "Shipped"],  # a repeat of the first row's key
    ["111-3", "", "5", "2.00", "Shipped"],  # no key: no datapoint
]


def shapes():
    dicts = [dict(zip(COLUMNS, v, strict=True)) for v in VALUES]
    return {
        "columnar": RowBatch(COLUMNS, [list(v) for v in VALUES]),
        "batch of dicts": RowBatch.from_dicts([dict(d) for d in dicts]),
        "list of dicts": dicts,
    }


@pytest.mark.parametrize("shape", ["columnar", "batch of dicts", "list of dicts"])
def test_duplicate_keys(shape):
    counter = DuplicateKeyCounter(("amazon-order-id", "sku"))
    counter.add(shapes()[shape])
    counter.add([{"amazon-order-id": "111-2", "sku": "A"}])
    assert counter.duplicates == 2
    assert counter.examples == [("111-1", "A"), ("111-2", "A")]


@pytest.mark.parametrize("shape", ["columnar", "batch of dicts", "list of dicts"])
def test_order_datapoints_skip_cancelled_and_keyless_rows(shape):
    acc = DatapointAccumulator(CATALOG[ORDERS_BY_DATE].datapoints)
    acc.add(shapes()[shape])
    points = {(p["key"], p["metric"]): p["value"] for p in acc.datapoints(report="r", day="2026-11-25", load_id="L")}
    assert points == {
        ("A", "units_ordered"): 2.0,
        ("A", "ordered_revenue"): 20.0,
        ("B", "units_ordered"): 2.0,
        ("B", "ordered_revenue"): 4.5,
    }


def test_a_missing_filter_column_keeps_or_drops_rows_as_its_predicate_says():
    orders = DatapointAccumulator(CATALOG[ORDERS_BY_DATE].datapoints)  # keeps rows whose status is not "Cancelled"
    orders.add(RowBatch(["sku", "quantity"], [["A", "2"]]))
    assert orders.totals == {("A", "units_ordered"): 2.0}
    traffic = DatapointAccumulator(CATALOG[SALES_AND_TRAFFIC].datapoints)  # keeps only record_type == "by_asin"
    traffic.add([{"childAsin": "B0X", "trafficByAsin_sessions": 4}])
    assert traffic.totals == {}
