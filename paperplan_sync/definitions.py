"""The code location. Assembly only: the configuration's shared snapshot, then everything built from it.

The code server and the daemon build the definitions from the snapshot the scheduler keeps (no Airtable
call); a run worker rebuilds exactly the code server's configuration, carried to it by Dagster as
reconstruction metadata, so a run never sees a different asset graph from the one that launched it.
"""

import warnings

import dagster as dg

# Dagster 1.13 has no public way to read reconstruction metadata back (with_reconstruction_metadata writes it):
# the product's one private import, covered by config/test_snapshot.py against the pinned version.
from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType

from paperplan_sync.assembly import build_definitions
from paperplan_sync.config.loader import config_from_snapshot_json, current_config
from paperplan_sync.resources import airtable_resource, production_resources, resolved

CONFIG_METADATA_KEY = "paperplan/config"

_context = DefinitionsLoadContext.get()
if _context.load_type == DefinitionsLoadType.RECONSTRUCTION and CONFIG_METADATA_KEY in _context.reconstruction_metadata:
    config = config_from_snapshot_json(_context.reconstruction_metadata[CONFIG_METADATA_KEY])
else:
    config = current_config(resolved(airtable_resource()))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.PreviewWarning)  # with_reconstruction_metadata is a preview API
    defs = build_definitions(config, production_resources())
    if config.snapshot_json:
        defs = defs.with_reconstruction_metadata({CONFIG_METADATA_KEY: config.snapshot_json})
