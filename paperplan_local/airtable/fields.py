"""Field types: their metadata options, the cell values they accept, and how cells read in formulas and sorts.

Cells are stored in the form the API returns them (numbers, text, ``true``, lists of names or record ids,
``YYYY-MM-DD`` dates, ``...T...Z`` UTC date-times), so reading a record needs no conversion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperplan_local.airtable.errors import ApiError, invalid_value
from paperplan_local.airtable.model import Field, new_id, utc_timestamp

TEXT_TYPES = {"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber"}
MAX_TEXT_CHARS = 100_000  # Airtable's limit for a long text cell (and the others)
NUMBER_TYPES = {"number", "currency", "percent", "rating", "duration"}
OTHER_TYPES = {"checkbox", "singleSelect", "multipleSelects", "multipleRecordLinks", "date", "dateTime"}
SUPPORTED_TYPES = TEXT_TYPES | NUMBER_TYPES | OTHER_TYPES
NOT_PRIMARY_TYPES = {"checkbox", "multipleSelects", "multipleRecordLinks"}

DATE_FORMATS = {"local": "l", "friendly": "LL", "us": "M/D/YYYY", "european": "D/M/YYYY", "iso": "YYYY-MM-DD"}
TIME_FORMATS = {"12hour": "h:mma", "24hour": "HH:mm"}
CHOICE_COLORS = [
    "blueLight2",
    "cyanLight2",
    "tealLight2",
    "greenLight2",
    "yellowLight2",
    "orangeLight2",
    "redLight2",
    "pinkLight2",
    "purpleLight2",
    "grayLight2",
]


class WriteContext(Protocol):
    """What validating a cell may need from the store (typecast can add options and linked records)."""

    def record_exists(self, table_id: str, record_id: str) -> bool: ...
    def find_or_create_linked(self, table_id: str, primary_text: str) -> str: ...
    def add_choice(self, field: Field, name: str) -> None: ...


# --- metadata -------------------------------------------------------------------------------------


def field_options(type_: str, options: dict[str, Any] | None, table_exists: Callable[[str], bool]) -> dict | None:
    """Options completed the way Airtable answers them (pyairtable's schema models require every part)."""
    given = dict(options or {})
    if type_ not in SUPPORTED_TYPES:
        raise ApiError(
            422, "INVALID_FIELD_TYPE", f"Field type {type_!r} is not supported by the local Airtable stand-in"
        )
    if type_ in TEXT_TYPES:
        return None
    if type_ in ("number", "percent"):
        return {"precision": int(given.get("precision", 0))}
    if type_ == "currency":
        return {"precision": int(given.get("precision", 2)), "symbol": given.get("symbol", "$")}
    if type_ == "rating":
        return {
            "icon": given.get("icon", "star"),
            "color": given.get("color", "yellowBright"),
            "max": int(given.get("max", 5)),
        }
    if type_ == "duration":
        return {"durationFormat": given.get("durationFormat", "h:mm")}
    if type_ == "checkbox":
        return {"icon": given.get("icon", "check"), "color": given.get("color", "greenBright")}
    if type_ in ("singleSelect", "multipleSelects"):
        choices: list[dict[str, Any]] = []
        for choice in given.get("choices", []):
            choices.append(new_choice(choice["name"], len(choices), choice.get("color"), choice.get("id")))
        return {"choices": choices}
    if type_ == "date":
        return {"dateFormat": _date_format(given.get("dateFormat"))}
    if type_ == "dateTime":
        time_format = given.get("timeFormat") or {"name": "24hour"}
        return {
            "timeZone": given.get("timeZone", "utc"),
            "dateFormat": _date_format(given.get("dateFormat")),
            "timeFormat": {"name": time_format["name"], "format": TIME_FORMATS.get(time_format["name"], "HH:mm")},
        }
    # multipleRecordLinks. No inverse field is created in the linked table (see README of this package).
    linked = given.get("linkedTableId")
    if not linked or not table_exists(linked):
        raise ApiError(422, "INVALID_FIELD_TYPE_OPTIONS", f"linkedTableId {linked!r} is not a table of this base")
    return {
        "linkedTableId": linked,
        "isReversed": False,
        "prefersSingleRecordLink": bool(given.get("prefersSingleRecordLink", False)),
    }


def _date_format(given: dict[str, Any] | None) -> dict[str, str]:
    name = (given or {}).get("name", "iso")
    return {"name": name, "format": DATE_FORMATS.get(name, "YYYY-MM-DD")}


def new_choice(name: str, index: int, color: str | None = None, id_: str | None = None) -> dict[str, str]:
    return {"id": id_ or new_id("sel"), "name": name, "color": color or CHOICE_COLORS[index % len(CHOICE_COLORS)]}


# --- writing cells --------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def cell_value(field: Field, value: Any, typecast: bool, ctx: WriteContext) -> Any:
    """The value to store for ``value`` written to ``field`` (None clears the cell); raises ApiError (422)."""
    if is_empty(value):
        return None
    kind = field.type
    if kind in TEXT_TYPES:
        if isinstance(value, str):
            if len(value) > MAX_TEXT_CHARS:
                raise ApiError(
                    422,
                    "INVALID_VALUE_FOR_COLUMN",
                    f'Field "{field.name}" cannot accept a value of {len(value):,} characters '
                    f"(at most {MAX_TEXT_CHARS:,})",
                )
            return value
        if typecast and isinstance(value, (int, float)):
            return _text(value)
    elif kind in NUMBER_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _number(value)
        if typecast and isinstance(value, (str, bool)):
            return _parse_number(value, field)
    elif kind == "checkbox":
        if isinstance(value, bool):
            return True
        if typecast:
            return True if str(value).strip().lower() not in ("", "0", "false", "no", "off") else None
    elif kind == "singleSelect":
        if typecast and isinstance(value, (int, float)):
            value = _text(value)
        if isinstance(value, str):
            return _choice(field, value, typecast, ctx)
    elif kind == "multipleSelects":
        if typecast and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return _unique(_choice(field, v, typecast, ctx) for v in value) or None
    elif kind == "multipleRecordLinks":
        if typecast and isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return _unique(_link(field, v, typecast, ctx) for v in value) or None
    elif kind == "date":
        if isinstance(value, str):
            return _parse_date(value, field)
    elif kind == "dateTime":
        if isinstance(value, str):
            return utc_timestamp(_parse_moment(value, field))
    raise invalid_value(field.name, value)


def _choice(field: Field, name: str, typecast: bool, ctx: WriteContext) -> str:
    if name in field.choice_names():
        return name
    if not typecast:
        # Airtable's wording, doubled quotes included.
        raise ApiError(
            422, "INVALID_MULTIPLE_CHOICE_OPTIONS", f'Insufficient permissions to create new select option ""{name}""'
        )
    ctx.add_choice(field, name)
    return name


def _link(field: Field, value: str, typecast: bool, ctx: WriteContext) -> str:
    linked_table = field.options["linkedTableId"]
    if ctx.record_exists(linked_table, value):
        return value
    if typecast:  # Airtable matches the linked table's primary field, creating the record if none matches
        return ctx.find_or_create_linked(linked_table, value)
    raise ApiError(422, "ROW_DOES_NOT_EXIST", f"Record ID {value} does not exist in table {linked_table}")


def _unique(values) -> list:
    out: list = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _text(value: Any) -> str:
    return text_of_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def text_of_number(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _number(value: int | float) -> int | float:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parse_number(value: str | bool, field: Field) -> int | float | None:
    if isinstance(value, bool):
        return int(value)
    text = value.strip().replace(",", "")
    if not text:
        return None
    try:
        return _number(float(text))
    except ValueError:
        raise invalid_value(field.name, value) from None


def _parse_date(value: str, field: Field) -> str:
    try:
        return date.fromisoformat(value[:10]).isoformat()  # a date-time keeps the date it was written with
    except ValueError:
        raise invalid_value(field.name, value) from None


def _parse_moment(value: str, field: Field) -> datetime:
    moment = parse_datetime(value, (field.options or {}).get("timeZone", "utc"))
    if moment is None:
        raise invalid_value(field.name, value)
    return moment


def parse_datetime(text: str, zone: str = "utc") -> datetime | None:
    """An ISO 8601 date or date-time; one without an offset is read in ``zone`` (a field's timeZone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(zone))
    return moment.astimezone(timezone.utc)


def _zone(name: str):
    if name in ("utc", "client", ""):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


# --- reading cells in formulas and sorts ------------------------------------------------------------

LinkText = Callable[[Field, list[str]], str]  # linked record ids -> their primary values, ", "-joined


def formula_value(field: Field, stored: Any, link_text: LinkText) -> Any:
    """A cell as a formula sees it: lists read as ", "-joined text, dates as UTC midnights, unchecked as false."""
    kind = field.type
    if kind == "checkbox":
        return bool(stored)
    if stored is None:
        return None
    if kind == "multipleSelects":
        return ", ".join(stored)
    if kind == "multipleRecordLinks":
        return link_text(field, stored)
    if kind in ("date", "dateTime"):
        return parse_datetime(stored)
    return stored


def sort_key(field: Field, stored: Any, link_text: LinkText) -> tuple:
    """Empty cells sort first (ascending); selects sort in their options' order, as in Airtable's grid."""
    if stored is None:
        return (0,)
    kind = field.type
    if kind == "singleSelect":
        names = field.choice_names()
        return (1, names.index(stored) if stored in names else len(names))
    if kind == "multipleRecordLinks":
        return (1, link_text(field, stored).casefold())
    if kind == "multipleSelects":
        return (1, ", ".join(stored).casefold())
    if isinstance(stored, str):
        return (1, stored.casefold())
    return (1, stored)
