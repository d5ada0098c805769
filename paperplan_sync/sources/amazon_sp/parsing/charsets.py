"""Which codec decodes a line: the declared charset, else UTF-8, else windows-1252 (None: undecodable)."""

from __future__ import annotations

import codecs

# Java charset names Amazon may send that Python's codec registry does not know by that spelling.
_JAVA_CHARSETS = {
    "ms932": "cp932",
    "windows-31j": "cp932",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "utf8": "utf-8",
    "iso8859_1": "latin-1",
}


def python_codec(charset: str | None) -> str | None:
    """The Python codec of a declared charset (``Cp1252`` -> ``cp1252``); None when absent or unknown."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = _JAVA_CHARSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_line(raw: bytes, codec: str | None = None) -> str | None:
    """The declared ``codec``, else UTF-8 then windows-1252; None when the line cannot be decoded."""
    if codec:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return None


def decode_header(raw: bytes, codec: str | None = None) -> list[str]:
    text = decode_line(raw, codec)
    if text is None:
        text = raw.decode("latin-1")  # never fails; column names are ASCII in practice
    names = [c.strip() for c in text.lstrip("\ufeff").rstrip("\r").split("\t")]
    seen: dict[str, int] = {}
    out = []
    for name in names:  # duplicate names would silently overwrite each other in a dict
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def decode_cp1252_block(body: bytes) -> str | None:
    """The whole block as windows-1252 when that equals the per-line rule, else None (go per line).

    Equal when no line holds a valid non-ASCII UTF-8 sequence: decoding with errors="ignore" then leaves
    pure ASCII (``isascii`` is O(1) on CPython), so every non-ASCII line failed UTF-8 and is cp1252 anyway.
    Two C passes instead of one Python step per line."""
    if not body.decode("utf-8", "ignore").isascii():
        return None
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: find and quarantine its line
        return None
