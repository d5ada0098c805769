"""Amazon SP-API Data Kiosk 2023-11-15 (GraphQL queries, JSONL documents): the Sales & Traffic dataset
``analytics_salesAndTraffic_2024_04_24``. Pure pieces for now -- API constants (``settings``), query text
(``queries``), JSONL rows (``parsing``). Not registered yet (no ``SOURCE``): the resource, its catalog and
the registration are planned in docs/design/datakiosk.md."""
