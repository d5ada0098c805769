"""The fault matrix (issue 21) on the production instance: deploy/dagster.yaml on PostgreSQL, the commands of
deploy/systemd's units supervised as systemd does, every stand-in. One product for the module; each fault
uses its own day or automation and leaves the product healthy for the next, in matrix order (the clock step
last). Each test prints its line of the matrix (benchmarks/faults.py prints them all).

Goal, asserted per fault: survived, 0 rows lost, 0 duplicated, exactly one alert per real failure.
"""

from __future__ import annotations

import pytest

from paperplan_sync_tests.e2e import faults_cases
from paperplan_sync_tests.e2e.faults_harness import Bench, wait_for

pytestmark = pytest.mark.e2e

ASSET_NODES = "{ assetNodes { assetKey { path } } }"


@pytest.fixture(scope="module")
def bench():
    with Bench() as started:
        print(f"product up in {started.startup_s:.0f} s")
        yield started


@pytest.mark.parametrize("fault", faults_cases.FAULTS, ids=[f.__name__ for f in faults_cases.FAULTS])
def test_fault_is_survived(bench, fault):
    outcome = fault(bench)
    print(outcome.line())
    assert outcome.passed, outcome.line()


def test_a_new_report_type_loads_without_a_restart_under_the_code_server_unit(bench):
    """The code server runs as its own unit (`dagster code-server start`): the product's reload after a new
    Report Types record still brings the new asset in, with no restart."""
    bench.airtable.table("Report Types").create(
        {
            "Name": "fault_listings",
            "Status": "Active",
            "Source": "amazon_sp",
            "Report Type Id": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "Real-time": True,
            "Destination": ["MongoDB"],
        },
        typecast=True,
    )
    starts = bench.services["code-server"].starts

    def loaded() -> bool:
        return any(
            n["assetKey"]["path"][-1] == "fault_listings" for n in bench.stack.graphql(ASSET_NODES)["assetNodes"]
        )

    wait_for(loaded, 120, 2, "the new report type's asset")
    assert bench.services["code-server"].starts == starts
