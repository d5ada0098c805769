"""The code location. Assembly only: the configuration's shared snapshot, then everything built from it.

Every process that imports this (code server, daemon, each run) builds the same definitions from the same
snapshot without calling Airtable; the scheduler refreshes the snapshot when Airtable changes.
"""

from paperplan_sync.assembly import build_definitions
from paperplan_sync.config.loader import current_config
from paperplan_sync.resources import production_resources

config = current_config()
defs = build_definitions(config, production_resources())
