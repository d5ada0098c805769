"""Deterministic seller data: a catalogue, daily orders whose status settles over 21 days, FBA inventory that
changes day to day, listings, sales & traffic. Every value comes from ``random.Random`` seeded by
(seed, kind, date) -- never the wall clock -- so the same question gets the same answer, and a later
"today" changes exactly what it should (order statuses, inventory levels)."""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from .constants import FIRST_MARKETPLACE_SHARE, MARKETPLACE_CHANNELS, MAX_STATUS_DAYS

# Some names are deliberately non-ASCII (all representable in windows-1252, as Amazon serves them).
_NAMES = [
    "Dot Grid Notebook A5",
    "Café Planner 2026 – Weekly",
    "Crème Brûlée Recipe Journal",
    "Papier-mâché Gift Box Set",
    "Kraft Paper Envelopes (50 pack)",
    "Bücherstütze Größe M",
    "Señorita Sticky Notes – Niño Edition",
    "Déjà Vu Lined Journal",
    "Washi Tape Set ×12",
    "Fountain Pen Ink – Bleu Nuit",
    "Linen Bound Sketchbook",
    "Brass Paper Clips (100)",
    "Desk Organizer Tray",
    "Watercolor Paper Pad 300gsm",
    "Calligraphy Starter Kit",
    "Mini Memo Cubes",
    "Perpetual Desk Calendar",
    "Recycled Kraft Notebook Trio",
    "Sealing Wax Kit – Rouge",
    "Letterpress Greeting Cards",
    "Leather Bookmark",
    "Pocket Planner – Édition Noire",
    "Index Card Box 3x5",
    "Graph Paper Pad 8.5x11",
    "Gel Pen Set (24)",
    "Highlighter Pastel Set",
    "Bullet Journal Stencils",
    "Cotton Rag Stationery Set",
    "Daily To-Do Pad",
    "Art Deco Postcards (20)",
    "Noteblock Süßigkeiten",
    "Mechanical Pencil 0.5mm",
    "Correction Tape 5-pack",
    "A4 Clear Folders (25)",
    "Eraser Trio™",
]
_CITIES = [
    ("SEATTLE", "WA", "98101"),
    ("PORTLAND", "OR", "97205"),
    ("AUSTIN", "TX", "73301"),
    ("DENVER", "CO", "80202"),
    ("BROOKLYN", "NY", "11201"),
    ("CHICAGO", "IL", "60601"),
    ("SAN JOSE", "CA", "95112"),
    ("MIAMI", "FL", "33101"),
    ("BOSTON", "MA", "02108"),
    ("PHOENIX", "AZ", "85001"),
    ("ATLANTA", "GA", "30301"),
    ("MADISON", "WI", "53703"),
]
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

ORDER_COLUMNS = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
]
INVENTORY_COLUMNS = [
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "per-unit-volume",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
]
LISTING_COLUMNS = [
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
]


def _code(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Product:
    sku: str
    asin: str
    fnsku: str
    name: str
    price: float
    afn: bool  # fulfilled by Amazon (FBA) vs merchant
    opened: date


@functools.lru_cache(maxsize=8)
def catalog(seed: int) -> tuple[Product, ...]:
    rng = random.Random(f"{seed}:catalog")
    products = []
    for i, name in enumerate(_NAMES):
        products.append(
            Product(
                sku=f"PP-{i + 1:03d}-{_code(rng, 3)}",
                asin="B0" + _code(rng, 8),
                fnsku="X00" + _code(rng, 7),
                name=name,
                price=round(rng.uniform(3.5, 49.0), 2),
                afn=rng.random() < 0.7,
                opened=date(2023, 6, 1) + timedelta(days=rng.randrange(0, 200)),
            )
        )
    return tuple(products)


@dataclass(frozen=True)
class OrderItem:
    """One line of an order, with its fate: settles to ``final_status`` at ``settles_at``."""

    order_id: str
    merchant_order_id: str
    purchased: datetime
    product: Product
    quantity: int
    city: tuple[str, str, str]
    final_status: str  # "Shipped" | "Cancelled"
    settles_at: datetime
    business: bool

    def status_at(self, as_of: datetime) -> tuple[str, str, datetime]:
        """(order-status, item-status, last-updated) as seen at ``as_of``."""
        if as_of >= self.settles_at:
            return self.final_status, self.final_status, self.settles_at
        return "Pending", "Unshipped", self.purchased + timedelta(minutes=1)


@functools.lru_cache(maxsize=256)
def orders_on(seed: int, day: date) -> tuple[OrderItem, ...]:
    """Every order item purchased on UTC ``day`` (50-300 orders, busier at weekends)."""
    rng = random.Random(f"{seed}:orders:{day.isoformat()}")
    products = catalog(seed)
    # A steady shop: weekdays about 180 orders, weekends about 240, +-10 % (a normal month raises no volume check).
    n_orders = max(50, min(300, round(rng.gauss(180, 18) if day.weekday() < 5 else rng.gauss(240, 24))))
    start = datetime.combine(day, time(0), tzinfo=UTC)
    stamps = sorted(rng.randrange(86400) for _ in range(n_orders))
    items: list[OrderItem] = []
    for k, sec in enumerate(stamps):
        order_id = f"11{rng.randrange(10)}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}"
        purchased = start + timedelta(seconds=sec)
        cancelled = rng.random() < 0.06
        if cancelled:
            delay = timedelta(hours=rng.uniform(0.5, 24 * MAX_STATUS_DAYS))
        else:  # mostly 0-3 days, a long tail up to 21
            delay = timedelta(hours=min(24 * MAX_STATUS_DAYS - 1, rng.expovariate(1 / 30.0) + 2))
        city = rng.choice(_CITIES)
        business = rng.random() < 0.08
        # One line per distinct SKU in an order, as Amazon's order reports have it.
        for product in rng.sample(products, 1 if rng.random() < 0.75 else rng.randint(2, 3)):
            items.append(
                OrderItem(
                    order_id=order_id,
                    merchant_order_id=f"PP{day:%y%m%d}{k:04d}",
                    purchased=purchased,
                    product=product,
                    quantity=1 if rng.random() < 0.85 else rng.randint(2, 4),
                    city=city,
                    final_status="Cancelled" if cancelled else "Shipped",
                    settles_at=purchased + delay,
                    business=business,
                )
            )
    return tuple(items)


def sales_channel(order_id: str, marketplace_ids: list[str] | tuple[str, ...] = ()) -> str:
    """The marketplace an order was placed in, among those requested (deterministic per order id)."""
    known = [m for m in marketplace_ids if m in MARKETPLACE_CHANNELS]
    if len(known) < 2:
        return MARKETPLACE_CHANNELS[known[0]] if known else "Amazon.com"
    share = random.Random(f"market:{order_id}").random()
    if share < FIRST_MARKETPLACE_SHARE:
        return MARKETPLACE_CHANNELS[known[0]]
    rest = known[1:]
    step = (1 - FIRST_MARKETPLACE_SHARE) / len(rest)
    return MARKETPLACE_CHANNELS[rest[min(len(rest) - 1, int((share - FIRST_MARKETPLACE_SHARE) / step))]]


def order_fields(item: OrderItem, as_of: datetime, marketplace_ids: list[str] | tuple[str, ...] = ()) -> list[str]:
    status, item_status, updated = item.status_at(as_of)
    p = item.product
    price = p.price * item.quantity
    ship = 0.0 if p.afn else 4.99
    return [
        item.order_id,
        item.merchant_order_id,
        iso(item.purchased),
        iso(updated),
        status,
        "Amazon" if p.afn else "Merchant",
        sales_channel(item.order_id, marketplace_ids),
        "",
        "",
        "Standard" if p.afn else "Std US D2D Dom",
        p.name,
        p.sku,
        p.asin,
        item_status,
        str(item.quantity),
        "USD",
        f"{price:.2f}",
        f"{price * 0.08:.2f}",
        f"{ship:.2f}",
        "0.00",
        "",
        "",
        "0.00",
        "0.00",
        item.city[0],
        item.city[1],
        item.city[2],
        "US",
        "",
        "true" if item.business else "false",
        "",
        "",
    ]


def _days(start: datetime, end: datetime) -> Iterator[date]:
    d = start.astimezone(UTC).date()
    while d <= end.astimezone(UTC).date():
        yield d
        d += timedelta(days=1)


def _with_placed(seed: int, day: date) -> tuple[OrderItem, ...]:
    from .placed import placed_on  # a test hook (placed.py); imported here, as it builds on this module

    return orders_on(seed, day) + placed_on(seed, day)


def orders_by_purchase(
    seed: int, start: datetime, end: datetime, as_of: datetime, marketplace_ids: list[str] | tuple[str, ...] = ()
) -> Iterator[list[str]]:
    end_excl = end + timedelta(seconds=1)  # windows end at 23:59:59
    for day in _days(start, end):
        for item in _with_placed(seed, day):
            if start <= item.purchased < end_excl and item.purchased <= as_of:
                yield order_fields(item, as_of, marketplace_ids)


def orders_by_update(
    seed: int, start: datetime, end: datetime, as_of: datetime, marketplace_ids: list[str] | tuple[str, ...] = ()
) -> Iterator[list[str]]:
    end_excl = end + timedelta(seconds=1)
    first = start - timedelta(days=MAX_STATUS_DAYS + 1)
    for day in _days(first, end):
        for item in _with_placed(seed, day):
            if item.purchased > as_of:
                continue
            updated = item.status_at(as_of)[2]
            if start <= updated < end_excl:
                yield order_fields(item, as_of, marketplace_ids)


def synthetic_orders(seed: int, start: datetime, n_rows: int) -> Iterator[list[str]]:
    """``n_rows`` order rows for load tests, produced lazily (never all in memory)."""
    rng = random.Random(f"{seed}:synthetic:{start.date().isoformat()}")
    products = catalog(seed)
    base = datetime.combine(start.astimezone(UTC).date(), time(0), tzinfo=UTC)
    templates = []
    for _ in range(997):  # a prime, so rows do not repeat with any period a test would notice
        purchased = base + timedelta(seconds=rng.randrange(86400))
        item = OrderItem(
            "",
            "",
            purchased,
            rng.choice(products),
            rng.randint(1, 3),
            rng.choice(_CITIES),
            "Shipped",
            purchased + timedelta(hours=rng.uniform(2, 72)),
            rng.random() < 0.08,
        )
        templates.append(order_fields(item, base + timedelta(days=30)))
    for i in range(n_rows):
        row = list(templates[i % 997])
        row[0] = f"90{i % 10}-{i // 10:07d}-{(i * 7919) % 10**7:07d}"
        row[1] = f"PPX{i:09d}"
        yield row


def inventory(seed: int, today: date) -> Iterator[list[str]]:
    """FBA inventory as of ``today``: levels drift day to day."""
    for p in catalog(seed):
        if not p.afn:
            continue
        rng = random.Random(f"{seed}:inventory:{p.sku}:{today.isoformat()}")
        fulfillable = rng.randint(0, 400)
        unsellable, reserved = rng.randint(0, 6), rng.randint(0, 25)
        warehouse = fulfillable + unsellable + reserved
        inbound = [rng.choice([0, 0, rng.randint(10, 200)]) for _ in range(3)]
        yield [
            p.sku,
            p.fnsku,
            p.asin,
            p.name,
            "New",
            f"{p.price:.2f}",
            "No",
            "",
            "Yes",
            str(warehouse),
            str(fulfillable),
            str(unsellable),
            str(reserved),
            str(warehouse + sum(inbound)),
            f"{rng.uniform(0.02, 0.4):.2f}",
            str(inbound[0]),
            str(inbound[1]),
            str(inbound[2]),
            str(rng.randint(0, 2)),
            "0",
            "0",
        ]


def listings(seed: int, today: date) -> Iterator[list[str]]:
    for i, p in enumerate(catalog(seed)):
        rng = random.Random(f"{seed}:listing:{p.sku}:{today.isoformat()}")
        qty = "" if p.afn else str(rng.randint(0, 120))
        status = "Active" if (p.afn or qty != "0") else "Inactive"
        yield [
            p.name,
            f'{p.name} -- "paper you\'ll love", 100% recycled',
            f"{p.opened:%m%d}Z{i:05d}",
            p.sku,
            f"{p.price:.2f}",
            qty,
            f"{p.opened:%Y-%m-%d} 10:{i % 60:02d}:13 PST",
            "",
            "y",
            "1",
            "",
            "",
            "11",
            "",
            "",
            "",
            p.asin,
            "",
            "",
            "1",
            "N",
            "",
            p.asin,
            "",
            "",
            "0",
            "AMAZON_NA" if p.afn else "DEFAULT",
            "" if p.afn else "Migrated Template",
            status,
        ]


def sales_and_traffic(
    seed: int, start: datetime, end: datetime, as_of: datetime, options: dict[str, str], marketplace_ids: list[str]
) -> dict:
    """GET_SALES_AND_TRAFFIC_REPORT JSON, computed from the same orders (non-cancelled units)."""
    by_date: dict[date, dict] = {}
    by_asin: dict[str, dict] = {}
    end_excl = end + timedelta(seconds=1)
    tz = start.tzinfo
    for day in _days(start, end):
        for item in orders_on(seed, day):
            if not (start <= item.purchased < end_excl) or item.purchased > as_of:
                continue
            if item.status_at(as_of)[0] == "Cancelled":
                continue
            local_day = item.purchased.astimezone(tz).date()
            amount = item.product.price * item.quantity
            d = by_date.setdefault(local_day, {"units": 0, "items": 0, "amount": 0.0})
            a = by_asin.setdefault(item.product.asin, {"sku": item.product.sku, "units": 0, "items": 0, "amount": 0.0})
            for agg in (d, a):
                agg["units"] += item.quantity
                agg["items"] += 1
                agg["amount"] += amount
    by_date_rows = []
    for day in sorted(by_date):
        v = by_date[day]
        rng = random.Random(f"{seed}:traffic:{day.isoformat()}")
        sessions = v["items"] * rng.randint(6, 14)
        by_date_rows.append(
            {
                "date": day.isoformat(),
                "salesByDate": {
                    "orderedProductSales": {"amount": round(v["amount"], 2), "currencyCode": "USD"},
                    "unitsOrdered": v["units"],
                    "totalOrderItems": v["items"],
                    "averageSalesPerOrderItem": {"amount": round(v["amount"] / v["items"], 2), "currencyCode": "USD"},
                },
                "trafficByDate": {
                    "browserPageViews": sessions * 2,
                    "mobileAppPageViews": sessions,
                    "pageViews": sessions * 3,
                    "sessions": sessions,
                    "buyBoxPercentage": round(rng.uniform(88, 100), 1),
                    "unitSessionPercentage": round(100 * v["units"] / sessions, 2),
                },
            }
        )
    by_asin_rows = []
    for asin in sorted(by_asin):
        v = by_asin[asin]
        rng = random.Random(f"{seed}:traffic:{asin}:{start.date().isoformat()}")
        sessions = v["items"] * rng.randint(5, 15)
        by_asin_rows.append(
            {
                "parentAsin": asin,
                "childAsin": asin,
                "sku": v["sku"],
                "salesByAsin": {
                    "unitsOrdered": v["units"],
                    "totalOrderItems": v["items"],
                    "orderedProductSales": {"amount": round(v["amount"], 2), "currencyCode": "USD"},
                },
                "trafficByAsin": {
                    "sessions": sessions,
                    "pageViews": sessions * 3,
                    "buyBoxPercentage": round(rng.uniform(85, 100), 1),
                    "unitSessionPercentage": round(100 * v["units"] / sessions, 2),
                },
            }
        )
    return {
        "reportSpecification": {
            "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
            "reportOptions": {
                "dateGranularity": options.get("dateGranularity", "DAY"),
                "asinGranularity": options.get("asinGranularity", "CHILD"),
            },
            "dataStartTime": start.date().isoformat(),
            "dataEndTime": end.date().isoformat(),
            "marketplaceIds": marketplace_ids,
        },
        "salesAndTrafficByDate": by_date_rows,
        "salesAndTrafficByAsin": by_asin_rows,
    }
