"""filterByFormula: a subset of Airtable's formula language, parsed once per request and run per record.

Supported: ``{Field}`` (by name or id) and bare one-word field names, 'single' / "double" quoted strings
with backslash escapes, numbers, the operators ``= != < > <= >= & + - * /`` and parentheses, and the
functions in ``FUNCTIONS``. Anything else is a 422 INVALID_FILTER_BY_FORMULA naming what is missing.

Comparison rules (kept close to Airtable's):
- an empty cell equals ``BLANK()``; next to a number it counts as 0, next to text as '' (so an empty
  number equals 0 and an empty text equals ''); it never equals a date, and is neither before nor after one;
- TRUE()/FALSE() and checkboxes are 1/0 (an unchecked box equals FALSE(), 0 and BLANK());
- a date cell is its UTC midnight, so ``{Date}=DATETIME_PARSE('2026-01-02')`` holds; text compared
  with a date is read as a date when it parses as one;
- text compared with a number is read as a number when it parses as one; text comparison is case-sensitive;
- multiple selects and links read as their ", "-joined names (links: the linked records' primary values).
A record is kept when the result is not 0, false, '', empty or NaN. An error while evaluating one record
(e.g. DATETIME_PARSE of non-date text) drops that record, as Airtable drops #ERROR! rows.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from paperplan_local.airtable.errors import invalid_formula
from paperplan_local.airtable.fields import parse_datetime, text_of_number
from paperplan_local.airtable.model import Field, Table, utc_timestamp


class Row(Protocol):
    record_id: str
    created_time: str

    def value(self, field: Field) -> Any: ...


Expr = Callable[[Row], Any]


class FormulaError(Exception):
    """A value error while evaluating one record (Airtable's #ERROR!)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<field>\{(?:[^}\\]|\\.)*\})
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|/|&|\(|\)|,)
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def tokenize(text: str) -> list[tuple[str, str]]:
    text, tokens, pos = text.strip(), [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise invalid_formula(f"unexpected {text[pos : pos + 10].strip()!r} at position {pos}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def compile_filter(text: str, table: Table) -> Callable[[Row], bool]:
    """A predicate for one record; raises ApiError (422) for a formula this stand-in cannot run."""
    parser = _Parser(tokenize(text), table)
    try:
        expr = parser.parse()
    except RecursionError:
        raise invalid_formula("the formula is nested too deeply") from None
    if parser.unknown:
        raise invalid_formula("Unknown field names: " + ", ".join(parser.unknown))

    def keep(row: Row) -> bool:
        try:
            return truthy(expr(row))
        except FormulaError:
            return False
        except RecursionError:
            raise invalid_formula("the formula is nested too deeply") from None

    return keep


class _Parser:
    """Precedence, loosest first: comparisons, &, + -, * /, unary minus (as in Airtable and Excel)."""

    def __init__(self, tokens: list[tuple[str, str]], table: Table):
        self.tokens, self.pos, self.table = tokens, 0, table
        self.unknown: list[str] = []

    def parse(self) -> Expr:
        if not self.tokens:
            raise invalid_formula("the formula is empty")
        expr = self.comparison()
        if self.pos < len(self.tokens):
            raise invalid_formula(f"unexpected {self.tokens[self.pos][1]!r}")
        return expr

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise invalid_formula("the formula ends too early" + (f" (expected {expected!r})" if expected else ""))
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise invalid_formula(f"expected {expected!r} but found {token[1]!r}")
        self.pos += 1
        return token

    def binary(self, operators: dict[str, Callable[[Any, Any], Any]], operand: Callable[[], Expr]) -> Expr:
        left = operand()
        while self.peek() in operators and self.tokens[self.pos][0] == "op":
            apply = operators[self.take()[1]]
            left = _apply(apply, left, operand())
        return left

    def comparison(self) -> Expr:
        return self.binary(_COMPARISONS, self.concat)

    def concat(self) -> Expr:
        return self.binary({"&": lambda a, b: _text(a) + _text(b)}, self.additive)

    def additive(self) -> Expr:
        return self.binary({"+": _arith(operator.add), "-": _arith(operator.sub)}, self.term)

    def term(self) -> Expr:
        return self.binary({"*": _arith(operator.mul), "/": _divide}, self.unary)

    def unary(self) -> Expr:
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            return lambda row: -_number(inner(row))
        return self.primary()

    def primary(self) -> Expr:
        kind, text = self.take()
        if kind == "number":
            number = float(text)
            value = int(number) if number.is_integer() and "e" not in text.lower() else number
            return lambda row: value
        if kind == "string":
            value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1], flags=re.DOTALL)
            return lambda row: value
        if kind == "field":
            return self.field(text[1:-1].replace("\\}", "}"))
        if kind == "name":
            if self.peek() == "(":
                return self.call(text.upper())
            if text.upper() in ("TRUE", "FALSE") and self.table.field(text) is None:
                flag = text.upper() == "TRUE"
                return lambda row: flag
            return self.field(text)
        if text == "(":
            inner = self.comparison()
            self.take(")")
            return inner
        raise invalid_formula(f"unexpected {text!r}")

    def field(self, name: str) -> Expr:
        field = self.table.field(name)
        if field is None:
            self.unknown.append(name)
            return lambda row: None
        return lambda row: row.value(field)

    def call(self, name: str) -> Expr:
        self.take("(")
        args: list[Expr] = []
        if self.peek() != ")":
            args.append(self.comparison())
            while self.peek() == ",":
                self.take()
                args.append(self.comparison())
        self.take(")")
        if name not in FUNCTIONS:
            supported = ", ".join(sorted(FUNCTIONS))
            raise invalid_formula(f"{name}() is not supported by the local Airtable stand-in (supported: {supported})")
        least, most, run = FUNCTIONS[name]
        if len(args) < least or (most is not None and len(args) > most):
            raise invalid_formula(f"wrong number of arguments to {name}()")
        return lambda row: run(row, args)


def _apply(apply: Callable[[Any, Any], Any], left: Expr, right: Expr) -> Expr:
    return lambda row: apply(left(row), right(row))


# --- values ---------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, (bool, int, float)):
        return value != 0
    if isinstance(value, (str, list)):
        return len(value) > 0
    return True


def _number(value: Any) -> int | float:
    if value is None:
        return 0
    if isinstance(value, (bool, int, float)):
        return int(value) if isinstance(value, bool) else value
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            raise FormulaError(f"{value!r} is not a number") from None
    raise FormulaError(f"{value!r} is not a number")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return text_of_number(value)
    if isinstance(value, datetime):
        return utc_timestamp(value)
    return str(value)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and (moment := parse_datetime(value)) is not None:
        return moment
    raise FormulaError(f"{value!r} is not a date")


def _arith(apply: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda a, b: apply(_number(a), _number(b))


def _divide(a: Any, b: Any) -> float:
    a, b = _number(a), _number(b)
    if b == 0:
        return math.nan if a == 0 else math.copysign(math.inf, a)
    return a / b


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    a = int(a) if isinstance(a, bool) else a
    b = int(b) if isinstance(b, bool) else b
    if a is None and b is not None and not isinstance(b, datetime):
        a = 0 if isinstance(b, (int, float)) else ""
    if b is None and a is not None and not isinstance(a, datetime):
        b = 0 if isinstance(a, (int, float)) else ""
    if isinstance(a, datetime) != isinstance(b, datetime) and None not in (a, b):
        a, b = (_as_moment_or_self(a), _as_moment_or_self(b))
    elif isinstance(a, (int, float)) and isinstance(b, str):
        b = _as_number_or_self(b)
    elif isinstance(a, str) and isinstance(b, (int, float)):
        a = _as_number_or_self(a)
    return a, b


def _as_moment_or_self(value: Any) -> Any:
    return (parse_datetime(value) or value) if isinstance(value, str) else value


def _as_number_or_self(value: str) -> Any:
    try:
        return float(value)
    except ValueError:
        return value


def _compare(apply: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        a, b = _comparable(a, b)
        if a is None or b is None:  # only a blank next to a date (or two blanks) gets here
            both = a is None and b is None
            return apply(0, 0) if both else apply is operator.ne
        try:
            return apply(a, b)
        except TypeError:  # e.g. a date and a number: unequal, and unordered
            return apply is operator.ne

    return compare


_COMPARISONS = {
    "=": _compare(operator.eq),
    "!=": _compare(operator.ne),
    "<": _compare(operator.lt),
    ">": _compare(operator.gt),
    "<=": _compare(operator.le),
    ">=": _compare(operator.ge),
}


# --- functions: name -> (least args, most args or None, run(row, args)) ------------------------------


def _eager(run: Callable[..., Any]) -> Callable[[Row, list[Expr]], Any]:
    return lambda row, args: run(*(arg(row) for arg in args))


def _if(row: Row, args: list[Expr]) -> Any:
    if truthy(args[0](row)):
        return args[1](row)
    return args[2](row) if len(args) > 2 else None


def _find(needle: Any, haystack: Any, start: Any = 1) -> int:
    return _text(haystack).find(_text(needle), max(int(_number(start)) - 1, 0)) + 1


FUNCTIONS: dict[str, tuple[int, int | None, Callable[[Row, list[Expr]], Any]]] = {
    "AND": (1, None, _eager(lambda *values: all(truthy(v) for v in values))),
    "OR": (1, None, _eager(lambda *values: any(truthy(v) for v in values))),
    "XOR": (1, None, _eager(lambda *values: sum(truthy(v) for v in values) % 2 == 1)),
    "NOT": (1, 1, _eager(lambda value: not truthy(value))),
    "IF": (2, 3, _if),
    "TRUE": (0, 0, lambda row, args: True),
    "FALSE": (0, 0, lambda row, args: False),
    "BLANK": (0, 0, lambda row, args: None),
    # A format / locale argument is accepted but only ISO 8601 text parses.
    "DATETIME_PARSE": (1, 3, _eager(lambda value, *_: _moment(value))),
    "IS_BEFORE": (2, 2, _eager(lambda a, b: _moment(a) < _moment(b))),
    "IS_AFTER": (2, 2, _eager(lambda a, b: _moment(a) > _moment(b))),
    "RECORD_ID": (0, 0, lambda row, args: row.record_id),
    "CREATED_TIME": (0, 0, lambda row, args: parse_datetime(row.created_time)),
    "LOWER": (1, 1, _eager(lambda value: _text(value).lower())),
    "UPPER": (1, 1, _eager(lambda value: _text(value).upper())),
    "LEN": (1, 1, _eager(lambda value: len(_text(value)))),
    "TRIM": (1, 1, _eager(lambda value: _text(value).strip())),
    "FIND": (2, 3, _eager(_find)),
    "CONCATENATE": (1, None, _eager(lambda *values: "".join(_text(v) for v in values))),
}
