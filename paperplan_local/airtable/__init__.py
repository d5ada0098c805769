"""A local Airtable stand-in: the Web API subset pyairtable uses, over real HTTP, state in SQLite.

    from pyairtable import Api
    from paperplan_local.airtable import build_app, DEFAULT_API_KEY, DEFAULT_BASE_ID
    from paperplan_local.runner import ServerThread

    with ServerThread(build_app()) as server:
        api = Api(DEFAULT_API_KEY, endpoint_url=server.url)
        api.table(DEFAULT_BASE_ID, "Report Types").all()

Webhooks (``webhooks.py``) follow Airtable's documented limits, expiry and ping retries; ``/_test/clock``
moves the stand-in's clock for expiry tests. ``monthly_quota`` caps the calls a UTC month (``quota.py``).
Changes "as a user in the Airtable UI" (webhook source "client" instead of "publicApi") go through
``client_edits.client_edit(store, table, op, ...)``; tests reach it at ``POST /_test/client_edit``.

Deliberately not emulated:
- one base per server, which is also the workspace for the monthly quota; the 5 requests/s limit is per
  server (meta requests included); the 50 requests/s per-token limit is not modelled;
- ``cellFormat=string`` / ``timeZone`` / ``userLocale`` are accepted and ignored (values are always JSON);
- unknown base / table / record answer 404 (real Airtable often answers 403
  INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND); a record is only found through its own table;
- link fields get no inverse field in the linked table; views carry only a filter formula (no sorts,
  hidden fields or other view types); offsets never expire;
- numbers are stored as sent (not rounded to the field's precision); sorting puts empty cells first;
- attachments, comments, formula/rollup/lookup and other computed fields are absent, and only the field
  types in ``fields.SUPPORTED_TYPES`` can be created;
- webhook payloads never carry ``changedViewsById`` and are never split; a webhook scoped to a view sees the
  changes of records inside the view's filter before or after the change; OAuth's 2-webhooks limit is absent.
"""

from paperplan_local.airtable.app import DEFAULT_API_KEY, DEFAULT_BASE_ID, build_app

__all__ = ["DEFAULT_API_KEY", "DEFAULT_BASE_ID", "build_app"]
