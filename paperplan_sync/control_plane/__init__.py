"""The SYNC base in Airtable: the paced client, what the product writes there (through an outbox), change detection."""
