from paperplan_sync.cli import app

app(prog_name="paperplan-sync")
