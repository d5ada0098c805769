"""The product's small public HTTP service (`paperplan-sync api`): the `/api` health page and the
receiver of Airtable's webhook pings."""
