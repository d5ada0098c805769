"""Data quality: is a day that loaded also right? Pure judgements (``checks``), the per-type facts they need
(``rules``), a day's figures read from its stored rows (``profile``) and the per-day quality record kept in
MongoDB (``history``). The Dagster side (check specs and results, the Reports *Check* field, Slack) is
``reports/quality.py``. A check never blocks a load or deletes rows: it only reports."""
