"""The logic behind the operator commands (health, doctor, backfill); the CLI and the api service call it."""
