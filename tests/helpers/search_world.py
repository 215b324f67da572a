"""Fixtures shared by the search tests: a loopback data centre over a test catalogue.

The catalogue is the one ``test_datacentre`` builds from dkist's test ASDFs (two
datasets with real files, synthetic records without files), plus records this
suite needs: a dataset id that is an HTML payload (escaping) and a few VISP
records with varied r0. These tests need those records, so they keep this catalogue
even when ``test_datacentre`` runs on the sample archive;
``DKIST_WIDGETS_SEARCH_TEST_ARCHIVE=sample`` forces the sample archive here too.

Its fixtures (``search_catalogue_and_root``, ``search_dc``, ``dc``) are registered for
every test by ``tests/conftest.py`` (``pytest_plugins``); a module may define its own.
"""

from __future__ import annotations

import os

import pytest

from tests.helpers.datacentre_catalogue import _build_test_catalogue, _synthetic, serving_datacentre

#: A dataset id that would run script if rendered as HTML (no '/' so paths stay valid).
HOSTILE_ID = "<img src=x onerror=alert(1)>"
HOSTILE_PROPOSAL = "pid_9_666"


def build_search_catalogue(root) -> list[dict]:
    records = _build_test_catalogue(root)
    visp = next(r for r in records if r["instrumentName"] == "VISP" and r["datasetId"] == "YVl4O")
    records += [
        _synthetic(visp, 20, qualityAverageFriedParameter=0.041, targetTypes=["quietsun"]),
        _synthetic(visp, 21, qualityAverageFriedParameter=0.1, hasAllStokes=False),  # exactly 10 cm
        _synthetic(visp, 22, qualityAverageFriedParameter=0.2, wavelengthMin=630.0, wavelengthMax=630.4),
    ]
    hostile = _synthetic(
        visp, 23, primaryProposalId=HOSTILE_PROPOSAL, experimentDescription="<script>alert('x')</script>"
    )
    hostile["datasetId"] = HOSTILE_ID
    records.append(hostile)
    return records


@pytest.fixture(scope="module")
def search_catalogue_and_root(tmp_path_factory):
    if os.environ.get("DKIST_WIDGETS_SEARCH_TEST_ARCHIVE") == "sample":
        from dkist_widgets.sandbox.archive import ensure_archive

        archive = ensure_archive()
        return archive.catalogue, archive.root
    root = tmp_path_factory.mktemp("search-archive")
    return build_search_catalogue(root), root


@pytest.fixture(scope="module")
def search_dc(search_catalogue_and_root, tmp_path_factory):
    """A running loopback data centre with this process's dkist pointed at it."""
    catalogue, root = search_catalogue_and_root
    with serving_datacentre(catalogue, root, tmp_path_factory.mktemp("xdg-data")) as dc:
        yield dc


@pytest.fixture
def dc(search_dc):
    search_dc.clear_faults()
    yield search_dc
    search_dc.clear_faults()
