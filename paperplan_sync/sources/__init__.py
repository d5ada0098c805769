"""The APIs reports come from, each behind the same request -> wait -> rows contract (base.py)."""
