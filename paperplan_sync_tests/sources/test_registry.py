"""The source registry: a new API is one folder under sources/, and the product picks it up everywhere.

The test writes a small third source into a temporary folder on ``paperplan_sync.sources.__path__`` (so the
checkout is not touched) and checks that configuration, the catalog, the resources and `doctor` all see it
without any other module knowing its name.
"""

from __future__ import annotations

import sys
import textwrap

import dagster as dg
import pytest

import paperplan_sync.sources as sources_package
from paperplan_sync.config.parse import parse_report_type
from paperplan_sync.ops.doctor import check_environment
from paperplan_sync.reports import catalog
from paperplan_sync.resources import production_resources
from paperplan_sync.sources import registry

DEMO = """
from typing import ClassVar

from paperplan_sync.sources.base import ReportSource
from paperplan_sync.sources.catalog import ReportKind, by_id
from paperplan_sync.sources.http import ApiSource
from paperplan_sync.sources.registry import Source


class DemoResource(ApiSource):
    source_name: ClassVar[str] = "demo_api"
    endpoint: str = "https://demo.invalid"

    def request_report(self, request):
        raise NotImplementedError

    def wait_for_report(self, api_report_id):
        raise NotImplementedError

    def report_rows(self, report, request):
        raise NotImplementedError


def parse_demo(blocks, stream, chunk_rows, *, charset=None):
    yield [{"day": "2026-11-01", "n": "1"}]


SOURCE = Source(
    name="demo_api",
    label="Demo API",
    resource=DemoResource,
    kinds=by_id(ReportKind("DEMO_DAILY", "demo_api", "demo_json", date_column="day", max_range_days=7)),
    parsers={"demo_json": parse_demo},
    default_format="demo_json",
    env_secrets={"client_id": "DEMO_CLIENT_ID", "client_secret": "DEMO_CLIENT_SECRET", "refresh_token": "DEMO_TOKEN"},
    env_settings={"endpoint": "DEMO_ENDPOINT"},
)
"""


@pytest.fixture
def demo_source(tmp_path):
    (tmp_path / "demo_api").mkdir()
    (tmp_path / "demo_api" / "__init__.py").write_text(textwrap.dedent(DEMO))
    sources_package.__path__.append(str(tmp_path))
    registry.sources.cache_clear()
    try:
        yield registry.get("demo_api")
    finally:
        sources_package.__path__.remove(str(tmp_path))
        sys.modules.pop("paperplan_sync.sources.demo_api", None)
        registry.sources.cache_clear()


def test_the_two_amazon_sources_are_registered():
    assert set(registry.names()) >= {"amazon_sp", "amazon_ads"}
    assert registry.default_name() == "amazon_sp"
    assert registry.get("amazon_ads").kinds["spCampaigns"].source == "amazon_ads"
    with pytest.raises(KeyError, match="registered: "):
        registry.get("no_such_api")


def test_a_third_source_is_one_folder(demo_source, monkeypatch):
    assert "demo_api" in registry.names()

    # Configuration: a Report Types row may name it; an unknown name is a problem, as before.
    record = {"id": "rec1", "fields": {"Name": "demo", "Status": "Active", "Source": "demo_api", "Report Type Id": "X"}}
    assert parse_report_type(record).source == "demo_api"
    with pytest.raises(ValueError, match="registered sources"):
        parse_report_type({**record, "fields": {**record["fields"], "Source": "other_api"}})

    # Catalog: its entries and its default for an id it does not list.
    assert catalog.CATALOG["DEMO_DAILY"].splittable and catalog.kind_of("DEMO_DAILY", "demo_api").max_range_days == 7
    assert catalog.kind_of("OTHER", "demo_api").document_format == "demo_json"
    assert registry.parser("demo_json") is demo_source.parsers["demo_json"]

    # Resources: built from the variable names it declares, secrets as EnvVar (never read here).
    monkeypatch.setenv("DEMO_ENDPOINT", "https://demo.example")
    resource = production_resources()["demo_api"]
    assert isinstance(resource, demo_source.resource)
    assert isinstance(resource.client_secret, dg.EnvVar) and resource.client_secret == "DEMO_CLIENT_SECRET"
    assert isinstance(resource.endpoint, dg.EnvVar)  # set: read at run time; unset ones keep the default

    # doctor: its required variables are checked like everyone else's.
    monkeypatch.delenv("DEMO_TOKEN", raising=False)
    [finding] = [f for f in check_environment() if f.name == "settings: Demo API"]
    assert not finding.ok and "DEMO_TOKEN" in finding.detail
