"""Amazon's published static sandbox vectors for Reports 2021-06-30 (x-amzn-api-sandbox in
selling-partner-api-models/models/reports-api-model/reports_2021-06-30.json).

Served under the path prefix ``/sandbox`` -- the stand-in's version of the sandbox host
(sandbox.sellingpartnerapi-na.amazon.com): point a client's ``endpoint`` at ``<url>/sandbox``.
A request matching no vector gets a 400, as Amazon's static sandbox does.
"""

from __future__ import annotations

from typing import Any

INVALID = {"errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input"}]}
NO_MATCH = {"errors": [{"code": "InvalidInput", "message": "Could not match input arguments", "details": ""}]}

CREATE_OK_BODY = {
    "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
    "dataStartTime": "2024-03-10T20:11:24.000Z",
    "marketplaceIds": ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
}
CREATE_BAD_BODY = {**CREATE_OK_BODY, "reportType": "BAD_FEE_DISCOUNTS_REPORT"}

_REPORT_ID1 = {
    "reportId": "ReportId1",
    "reportType": "FEE_DISCOUNTS_REPORT",
    "dataStartTime": "2024-03-11T13:47:20.677Z",
    "dataEndTime": "2024-03-12T13:47:20.677Z",
    "createdTime": "2024-03-10T13:47:20.677Z",
    "processingStatus": "IN_PROGRESS",
    "processingStartTime": "2024-03-10T13:47:20.677Z",
    "processingEndTime": "2024-03-12T13:47:20.677Z",
}
GET_REPORTS_OK = {
    "nextToken": "VGhpcyB0b2tlbiBpcyBvcGFxdWUgYW5kIGludGVudGlvbmFsbHkgb2JmdXNjYXRlZA==",
    "reports": [_REPORT_ID1],
}
DOCUMENT_ID = "0356cf79-b8b0-4226-b4b9-0ee058ea5760"
DOCUMENT_OK = {
    "reportDocumentId": DOCUMENT_ID,
    "url": "https://d34o8swod1owfl.cloudfront.net/Report_47700__GET_MERCHANT_LISTINGS_ALL_DATA_.txt",
}


def create_report(body: Any) -> tuple[int, dict]:
    if body == CREATE_OK_BODY:
        return 202, {"reportId": "ID323"}
    if body == CREATE_BAD_BODY:
        return 400, INVALID
    return 400, NO_MATCH


def get_reports(params: dict[str, list[str]]) -> tuple[int, dict]:
    types = params.get("reportTypes", [])
    statuses = params.get("processingStatuses", [])
    if types == ["FEE_DISCOUNTS_REPORT", "GET_AFN_INVENTORY_DATA"]:
        if statuses == ["IN_QUEUE", "IN_PROGRESS"]:
            return 200, GET_REPORTS_OK
        if statuses == ["BAD_VALUE", "IN_PROGRESS"]:
            return 400, {
                "errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input in processing status"}]
            }
    return 400, NO_MATCH


def get_report(report_id: str) -> tuple[int, dict]:
    if report_id == "ID323":
        return 200, _REPORT_ID1
    if report_id == "badReportId1":
        return 400, INVALID
    return 400, NO_MATCH


def cancel_report(report_id: str) -> tuple[int, dict | None]:
    return (200, None) if report_id == "ID" else (400, INVALID)


def get_report_document(document_id: str) -> tuple[int, dict]:
    if document_id == DOCUMENT_ID:
        return 200, DOCUMENT_OK
    if document_id == "badDocumentId1":
        return 400, INVALID
    return 400, NO_MATCH
