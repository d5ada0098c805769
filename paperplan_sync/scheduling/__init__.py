"""The Airtable-driven scheduler: Automations -> runs (the pure plan, fire times), and Logs retention."""
