"""Alerts: the failure, freshness and heartbeat sensors, Slack, and the off-machine watchdog."""
