"""PaperPlan Sync: report syncing from business APIs into MongoDB and Airtable, run by Dagster."""
