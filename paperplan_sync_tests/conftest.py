"""Root conftest: every module in fixtures/ is a fixture plugin (one per area, so areas never collide)."""

import pkgutil

from paperplan_sync_tests import fixtures

pytest_plugins = [f"{fixtures.__name__}.{m.name}" for m in pkgutil.iter_modules(fixtures.__path__)]
