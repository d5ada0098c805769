"""The code location. Assembly only: configuration from Airtable, then everything built from it."""

from paperplan_sync.assembly import build_definitions
from paperplan_sync.config.loader import load_config
from paperplan_sync.resources import production_resources

config = load_config()
defs = build_definitions(config, production_resources())
