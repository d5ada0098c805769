"""Test hook: orders placed at chosen instants, on top of the seeded data (e.g. 23:30 in Los Angeles on a
winter day). In-process only: a test that runs the stand-in in a thread calls ``place`` and ``clear``; the
order reports (by purchase date and by last update) then serve these orders like any other."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from .data import OrderItem, catalog

_lock = threading.Lock()
_placed: dict[tuple[int, date], list[OrderItem]] = {}  # (seed, UTC day of purchase) -> items


def place(purchased: datetime, *, seed: int = 0, product: int = 0, order_id: str | None = None) -> str:
    """One shipped order of one unit of the catalogue's ``product``, bought at ``purchased`` (tz-aware)."""
    moment = purchased.astimezone(UTC)
    order_id = order_id or f"999-{moment:%Y%m%d}-{moment:%H%M%S}0"
    item = OrderItem(
        order_id=order_id,
        merchant_order_id=f"PLACED{moment:%y%m%d%H%M}",
        purchased=moment,
        product=catalog(seed)[product],
        quantity=1,
        city=("SEATTLE", "WA", "98101"),
        final_status="Shipped",
        settles_at=moment + timedelta(hours=2),
        business=False,
    )
    with _lock:
        _placed.setdefault((seed, moment.date()), []).append(item)
    return order_id


def placed_on(seed: int, day: date) -> tuple[OrderItem, ...]:
    with _lock:
        return tuple(_placed.get((seed, day), ()))


def clear() -> None:
    with _lock:
        _placed.clear()
