"""A failure alert while Slack refuses (HTTP 503 service_unavailable, as during a Slack outage) is kept in
MongoDB and posted once when Slack is back: by the failure sensor itself (Dagster does not call it again for
the run), then by the outbox sensor's flush. The hour of outage runs on the product's own retry clock
(``flush(now=...)``), not on the wall clock."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import httpx

from paperplan_sync.alerting import alert_queue
from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.storage.common import utcnow

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def slack_unavailable(slack, on: bool) -> dict:
    response = httpx.post(f"{slack.url}/_test/outage", json={"unavailable": on}, timeout=5)
    response.raise_for_status()
    return response.json()


def failure_alerts(slack) -> list[str]:
    return [m["text"] for m in slack.messages() if m["text"].startswith("Report sales_report failed")]


def test_an_alert_refused_for_an_hour_is_kept_and_posted_once_when_slack_is_back(mongo, slack):
    db, resource = mongo.db(), slack.resource()
    slack_unavailable(slack, True)
    assert alert_queue.send(db, resource, "Report x failed for 2026-11-20: FATAL") is False
    start, attempts = utcnow(), 0
    for minute in range(0, 60, 2):  # an hour of Slack refusing, a flush every two minutes
        result = alert_queue.flush(db, resource, now=start + timedelta(minutes=minute))
        assert result.sent == 0 and result.waiting == 1
        attempts += bool(result.error)
    assert 10 <= attempts <= 20, attempts  # retried all along, backing off to every 5 minutes
    assert slack.messages() == []

    slack_unavailable(slack, False)
    back = start + timedelta(minutes=61)
    sent = [alert_queue.flush(db, resource, now=back + timedelta(minutes=m)).sent for m in (0, 5, 10)]
    assert sum(sent) == 1 and sent[-1] == 0
    assert [m["text"] for m in slack.messages()] == ["Report x failed for 2026-11-20: FATAL"]


def test_the_failure_sensor_keeps_the_alert_while_slack_refuses_and_the_outbox_sensor_posts_it_once(
    product, spapi, slack
):
    spapi.inject(fatal=True, report_type=ORDERS)
    sensors = {s.name: s for s in build_alert_sensors(product.config)}
    resources = {k: product.resources[k] for k in ("airtable", "mongo", "slack")}
    result = product.materialize("sales_report", "2026-11-20", raise_on_error=False)
    run = product.instance.get_run_by_id(result.run_id)
    event = product.instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    context = dg.build_run_status_sensor_context(
        sensor_name="report_failure_alerts",
        dagster_instance=product.instance,
        dagster_run=run,
        dagster_event=event.event_log_entry.dagster_event,
        resources=resources,
    ).for_run_failure()

    slack_unavailable(slack, True)
    sensors["report_failure_alerts"](context)  # does not raise: the alert is kept
    assert failure_alerts(slack) == []
    assert slack_unavailable(slack, True)["unavailable"]
    db = product.resources["mongo"].db()
    assert db[alert_queue.ALERTS].count_documents({"status": alert_queue.PENDING}) == 1

    slack_unavailable(slack, False)
    later = utcnow() + timedelta(hours=1)
    assert alert_queue.flush(db, product.resources["slack"], now=later).sent == 1
    outbox = sensors["airtable_outbox"]
    outbox(dg.build_sensor_context(instance=product.instance, resources=resources))  # nothing left to post
    assert len(failure_alerts(slack)) == 1
