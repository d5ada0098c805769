"""The registered sources: every package under ``sources/`` whose ``__init__`` exposes ``SOURCE = Source(...)``.

The rest of the product asks this module -- never a source by name -- which sources exist (the Airtable
``Source`` values), their report kinds and document parsers (reports/catalog.py), how to build each
resource from the environment (resources.py) and how `doctor` checks it. A new API is one new folder
(sources/README.md says what it provides); discovery finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import dagster as dg

from paperplan_sync import settings
from paperplan_sync.sources.catalog import ReportKind

# ``parse(blocks, stream, chunk_rows, *, charset)``: bytes in, row chunks out.
Parser = Callable[..., Iterator[Any]]


@dataclass(frozen=True)
class Source:
    """What a source registers about itself."""

    name: str  # the Airtable Source value, the resource key, the asset key prefix, the Dagster pool
    label: str  # how people name the API ("SP-API")
    resource: type[dg.ConfigurableResource]  # a ReportSource (usually an http.ApiSource)
    kinds: Mapping[str, ReportKind]  # the report type ids it knows (its catalog.py)
    parsers: Mapping[str, Parser]  # document format -> parser, for every format its kinds use
    default_format: str  # the format of a report type id its catalog does not know
    # Environment variable names (settings.py reads them): secrets and settings become dagster.EnvVar, so
    # they are resolved at run time and never stored; numbers are read when the code location loads.
    env_secrets: Mapping[str, str]  # field -> variable, required
    env_settings: Mapping[str, str] = field(default_factory=dict)  # field -> variable, when set
    env_numbers: Mapping[str, str] = field(default_factory=dict)  # field -> variable, when set
    dagster_kind: str = ""  # the kind tag its assets show in the UI (default: the name)
    default: bool = False  # the Source of a Report Types row that names none

    def resource_from_env(self, **fields: Any) -> dg.ConfigurableResource:
        """The resource wired from the environment; ``fields`` (e.g. the shared state) are passed as they are."""
        wired: dict[str, Any] = {f: dg.EnvVar(name) for f, name in self.env_secrets.items()}
        wired |= {f: dg.EnvVar(name) for f, name in self.env_settings.items() if settings.is_set(name)}
        wired |= {f: float(settings.value(name)) for f, name in self.env_numbers.items() if settings.is_set(name)}
        return self.resource(**wired, **fields)

    def kind_of(self, report_type_id: str) -> ReportKind:
        """Its catalog entry, or the cautious default: one day a request, the default format."""
        known = self.kinds.get(report_type_id)
        return known or ReportKind(report_type_id, self.name, self.default_format)


@cache
def sources() -> dict[str, Source]:
    """Every registered source by name, discovered once per process."""
    package = importlib.import_module(__package__)
    found: dict[str, Source] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg:
            source = getattr(importlib.import_module(f"{__package__}.{info.name}"), "SOURCE", None)
            if isinstance(source, Source):
                found[source.name] = source
    return found


def names() -> tuple[str, ...]:
    return tuple(sources())


def get(name: str) -> Source:
    try:
        return sources()[name]
    except KeyError:
        raise KeyError(f"no source {name!r}; registered: {', '.join(names())}") from None


def default_name() -> str:
    return next((s.name for s in sources().values() if s.default), next(iter(sources())))


def report_kinds() -> dict[str, ReportKind]:
    """Every source's catalog entries by report type id."""
    return {id_: kind for source in sources().values() for id_, kind in source.kinds.items()}


def parser(document_format: str) -> Parser:
    for source in sources().values():
        if document_format in source.parsers:
            return source.parsers[document_format]
    raise KeyError(f"no source parses the document format {document_format!r}")


def required_env() -> dict[str, tuple[str, ...]]:
    """Each source's required variables by its label (for `doctor`)."""
    return {source.label: tuple(source.env_secrets.values()) for source in sources().values()}
