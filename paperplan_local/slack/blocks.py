"""Block Kit shape checks, as strict as Slack's for the blocks a message may carry.

Slack answers ``invalid_blocks_format`` when ``blocks`` is not a JSON array of objects, and
``invalid_blocks`` with ``errors`` (and ``response_metadata.messages``: "[ERROR] ... [json-pointer:/blocks/0/...]")
when a block breaks its layout rules. Limits from Slack's Block Kit reference.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
TEXT_TYPES = {"plain_text", "mrkdwn"}
LIMITS = {"header": 150, "section": 3000, "field": 2000, "button": 75, "action_id": 255, "url": 3000}
MAX_FIELDS, MAX_CONTEXT, MAX_ACTIONS = 10, 10, 25


def block_errors(blocks: list[Any]) -> list[str]:
    """Every rule the blocks break, each as Slack words it: "<problem> [json-pointer:/blocks/i/...]"."""
    if len(blocks) > MAX_BLOCKS:
        return [f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"]
    errors: list[str] = []
    for i, block in enumerate(blocks):
        check = _CHECKS.get(block.get("type"))
        if check is None:
            errors.append(f"unsupported type `{block.get('type')}` [json-pointer:/blocks/{i}/type]")
        else:
            errors += check(block, f"/blocks/{i}")
    return errors


def _text(obj: Any, at: str, *, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ({"plain_text"} if plain_only else TEXT_TYPES):
        wanted = "plain_text" if plain_only else "plain_text or mrkdwn"
        return [f"must be a text object of type {wanted} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}/text]"]
    return []


def _header(block: dict, at: str) -> list[str]:
    return _text(block.get("text"), f"{at}/text", limit=LIMITS["header"], plain_only=True)


def _section(block: dict, at: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must define either `text` or `fields` [json-pointer:{at}]"]
    errors = _text(block["text"], f"{at}/text", limit=LIMITS["section"]) if "text" in block else []
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
            errors.append(f"must provide between 1 and {MAX_FIELDS} items [json-pointer:{at}/fields]")
        else:
            for n, field in enumerate(fields):
                errors += _text(field, f"{at}/fields/{n}", limit=LIMITS["field"])
    return errors


def _context(block: dict, at: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements or len(elements) > MAX_CONTEXT:
        return [f"must provide between 1 and {MAX_CONTEXT} items [json-pointer:{at}/elements]"]
    errors: list[str] = []
    for n, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "image":
            continue
        errors += _text(element, f"{at}/elements/{n}", limit=LIMITS["section"])
    return errors


def _actions(block: dict, at: str) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements or len(elements) > MAX_ACTIONS:
        return [f"must provide between 1 and {MAX_ACTIONS} items [json-pointer:{at}/elements]"]
    errors: list[str] = []
    for n, element in enumerate(elements):
        where = f"{at}/elements/{n}"
        if not isinstance(element, dict) or element.get("type") != "button":
            errors.append(f"unsupported element (this stand-in knows buttons) [json-pointer:{where}/type]")
            continue
        errors += _text(element.get("text"), f"{where}/text", limit=LIMITS["button"], plain_only=True)
        for key in ("action_id", "url"):
            if key in element and (not isinstance(element[key], str) or len(element[key]) > LIMITS[key]):
                errors.append(f"must be a string of at most {LIMITS[key]} characters [json-pointer:{where}/{key}]")
    return errors


def _divider(block: dict, at: str) -> list[str]:
    return []


_CHECKS = {"header": _header, "section": _section, "context": _context, "actions": _actions, "divider": _divider}
