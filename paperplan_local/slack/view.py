"""A tiny read-only page of posted messages for `make dev` (newest first, refreshes itself)."""

from __future__ import annotations

from html import escape
from typing import Any

REFRESH_SECONDS = 3


def _block_html(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{escape(block.get('text', {}).get('text', ''))}</h3>"
    if kind in ("section", "context"):
        parts = [block.get("text")] + list(block.get("fields") or []) + list(block.get("elements") or [])
        texts = [escape(p.get("text", "")) for p in parts if isinstance(p, dict) and "text" in p]
        css = "ctx" if kind == "context" else "sec"
        return "".join(f"<div class='{css}'>{t}</div>" for t in texts)
    if kind == "actions":
        links = [
            f"<a href='{escape(e['url'])}' target='_blank'>{escape(e.get('text', {}).get('text', e['url']))}</a>"
            for e in block.get("elements") or []
            if isinstance(e, dict) and e.get("url")
        ]
        return f"<div class='act'>{' '.join(links)}</div>"
    if kind == "divider":
        return "<hr>"
    return ""


def render_page(messages: list[dict[str, Any]]) -> str:
    items = []
    for m in reversed(messages):
        body = "".join(_block_html(b) for b in m.get("blocks") or [])
        items.append(
            "<li>"
            f"<div class='meta'>{escape(m['channel'])} · {escape(m['received_at'])} · ts {escape(m['ts'])}</div>"
            f"<div class='text'>{escape(m['text'])}</div>{body}</li>"
        )
    listing = "<ul>" + "".join(items) + "</ul>" if items else "<p>No messages yet.</p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Local Slack ({len(messages)})</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1d1c1d}}
ul{{list-style:none;padding:0}} li{{border:1px solid #ddd;border-radius:6px;padding:.75rem;margin:.5rem 0}}
.meta{{color:#616061;font-size:.8rem}} .text{{font-weight:600;margin:.25rem 0}}
.sec,.ctx{{white-space:pre-wrap}} .ctx{{color:#616061;font-size:.85rem}} h3{{margin:.25rem 0}}
</style></head>
<body><h1>Local Slack</h1><p>{len(messages)} message(s); JSON at <a href="/messages">/messages</a>.</p>
{listing}</body></html>"""
