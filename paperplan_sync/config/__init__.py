"""The configuration the ops team keeps in Airtable: rows -> validated models, the shared snapshot, fire times."""
