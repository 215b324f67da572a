"""The loopback DKIST data centre, driven by the real, unmodified clients.

Everything goes through ``Fido.search`` / ``Fido.fetch`` / ``dkist.load_dataset`` /
``ds.files.quality_report()`` over HTTP on 127.0.0.1. Expected results are computed
here, directly from the catalogue records, never from the server's code.

The catalogue comes from the ``catalogue_and_root`` fixture: by default a small one
built in a tmp dir from the ASDF files dkist ships for its tests (plus records
without files, to give the filters something to choose between). Set
``DKIST_WIDGETS_TEST_ARCHIVE=sample`` to run the same tests against the project's
sample archive (``dkist_widgets.sandbox.archive.ensure_archive()``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.client import RemoteDisconnected
from pathlib import Path

import astropy.units as u
import dkist
import pytest

from dkist_widgets.sandbox.datacentre import DataCentre, search_values
from dkist_widgets.sandbox.dkist_config import kernel_environment
from dkist_widgets.sandbox.endpoints import DKIST_ENDPOINT_ID

pytestmark = pytest.mark.timeout(120)

from tests.helpers.datacentre_catalogue import (  # noqa: E402
    _build_test_catalogue,
    serving_datacentre,
)

# --- catalogue ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalogue_and_root(tmp_path_factory):
    """(catalogue records, archive root). Switch to the sample archive with an env var."""
    if os.environ.get("DKIST_WIDGETS_TEST_ARCHIVE") == "sample":
        from dkist_widgets.sandbox.archive import ensure_archive

        archive = ensure_archive()
        return archive.catalogue, archive.root
    root = tmp_path_factory.mktemp("archive")
    return _build_test_catalogue(root), root


@pytest.fixture(scope="module")
def datacentre(catalogue_and_root, tmp_path_factory):
    """A running loopback data centre with this process's dkist pointed at it."""
    catalogue, root = catalogue_and_root
    with serving_datacentre(catalogue, root, tmp_path_factory.mktemp("xdg-data")) as dc:
        yield dc


@pytest.fixture
def dc(datacentre):
    datacentre.clear_faults()
    yield datacentre
    datacentre.clear_faults()


@pytest.fixture
def built_dc(tmp_path_factory):
    """(data centre, records, root) over the small built catalogue, whatever the env var says:
    it holds the cases the sample archive has none of (a deprecated dataset, records
    whose files are missing). dkist points at it for the test, then back."""
    root = tmp_path_factory.mktemp("built-archive")
    catalogue = _build_test_catalogue(root)
    with serving_datacentre(catalogue, root, tmp_path_factory.mktemp("xdg-data-built")) as centre:
        yield centre, catalogue, root


# --- helpers: expectations straight from the records --------------------------------


def active(catalogue):
    return [r for r in catalogue if r.get("status", "ACTIVE") == "ACTIVE"]


def ids(records):
    return sorted(r["datasetId"] for r in records)


def t(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def files_on_disk(catalogue, root):
    return [r for r in active(catalogue) if (root / r["bucket"] / r["asdfObjectKey"]).is_file()]


def dkist_search(*query):
    """Fido.search that must be answered by the DKIST client alone; returns its table."""
    from dkist.net.client import DKISTQueryResponseTable
    from sunpy.net import Fido

    res = Fido.search(*query)
    assert len(res) == 1, f"query went to other clients too: {res.keys()}"
    table = res[0]
    assert isinstance(table, DKISTQueryResponseTable)
    return table


def one_dataset(ds):
    """A Dataset with ``.files``: the dataset itself, or the first tile of a TiledDataset."""
    return ds if hasattr(ds, "files") else ds.flat[0]


def result_ids(table):
    return sorted(table["Dataset ID"]) if len(table) else []


# --- search ---------------------------------------------------------------------------


def test_config_and_search_values(dc, catalogue_and_root):
    catalogue, _ = catalogue_and_root
    with urllib.request.urlopen(dc.dataset_endpoint + "v1/config", timeout=5) as resp:
        assert json.load(resp) == {"globusDataEndpointID": DKIST_ENDPOINT_ID}
    # dkist's own endpoint lookup goes through the same route
    from dkist.net.globus.endpoints import get_data_center_endpoint_id

    assert get_data_center_endpoint_id() == DKIST_ENDPOINT_ID

    values = search_values(catalogue)
    by_name = {p["parameterName"]: p["values"] for p in values["parameterValues"]}
    assert sorted(by_name["instrumentNames"]["categoricalValues"]) == sorted({r["instrumentName"] for r in catalogue})
    r0 = [r["qualityAverageFriedParameter"] for r in catalogue if r.get("qualityAverageFriedParameter") is not None]
    assert by_name["qualityAverageFriedParameterMin"]["minValue"] == min(r0)
    assert by_name["qualityAverageFriedParameterMax"]["maxValue"] == max(r0)

    # ... and Fido's attrs show the loopback's values, not the ones dkist ships
    from sunpy.net import attrs as a

    registry = a.Instrument._attr_registry[a.Instrument]
    dkist_instruments = {n for n, c in zip(registry.name_long, registry.client) if c == "DKIST"}
    assert dkist_instruments == {r["instrumentName"] for r in catalogue}
    target_registry = a.dkist.TargetType._attr_registry[a.dkist.TargetType]
    assert set(target_registry.name_long) == {x for r in catalogue for x in r.get("targetTypes") or []}


def test_instrument(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    for instrument in sorted({r["instrumentName"] for r in catalogue}):
        expected = [r for r in active(catalogue) if r["instrumentName"] == instrument]
        table = dkist_search(a.Instrument(instrument))
        assert result_ids(table) == ids(expected), instrument
        assert table.total_available_results == len(expected)


def test_time_overlap(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    rec = active(catalogue)[0]
    start, end = t(rec["startTime"]), t(rec["endTime"])
    # a window overlapping only the tail of that dataset, extended by a day
    window = (start + (end - start) / 2, end + dt.timedelta(days=1, hours=1))
    expected = [r for r in active(catalogue) if t(r["endTime"]) >= window[0] and t(r["startTime"]) <= window[1]]
    assert rec in expected
    table = dkist_search(
        a.Time(window[0].replace(tzinfo=None), window[1].replace(tzinfo=None)), a.dkist.Status("ACTIVE")
    )
    assert result_ids(table) == ids(expected)
    # combined with an instrument: the intersection. (Time + Instrument alone is also
    # claimed by Fido's VSO client, which fails offline; a DKIST-only attr keeps the
    # query to the DKIST client, as a widget should.)
    inst = rec["instrumentName"]
    table = dkist_search(
        a.Time(window[0].replace(tzinfo=None), window[1].replace(tzinfo=None)),
        a.Instrument(inst),
        a.dkist.Status("ACTIVE"),
    )
    assert result_ids(table) == ids([r for r in expected if r["instrumentName"] == inst])


def test_wavelength(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    for rec in active(catalogue)[:4]:
        centre = (rec["wavelengthMin"] + rec["wavelengthMax"]) / 2
        expected = [r for r in active(catalogue) if r["wavelengthMin"] <= centre <= r["wavelengthMax"]]
        assert rec in expected
        table = dkist_search(a.Wavelength(centre * u.nm))
        assert result_ids(table) == ids(expected)
    table = dkist_search(a.Wavelength(1 * u.nm, 2 * u.nm))
    assert len(table) == 0


def test_dataset_proposal_product(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    rec = active(catalogue)[-1]
    table = dkist_search(a.dkist.Dataset(rec["datasetId"]))
    assert result_ids(table) == [rec["datasetId"]]
    row = table[0]
    assert row["Instrument"] == rec["instrumentName"]
    assert row["Primary Proposal ID"] == rec["primaryProposalId"]

    for proposal in sorted({r["primaryProposalId"] for r in catalogue}):
        expected = [r for r in active(catalogue) if r["primaryProposalId"] == proposal]
        assert result_ids(dkist_search(a.dkist.Proposal(proposal))) == ids(expected)

    for product in sorted({r["productId"] for r in catalogue}):
        expected = [r for r in active(catalogue) if r["productId"] == product]
        assert result_ids(dkist_search(a.dkist.Product(product))) == ids(expected)


def test_status_default_is_active_only(built_dc):
    from sunpy.net import attrs as a

    _, catalogue, _ = built_dc
    deprecated = [r for r in catalogue if r.get("status", "ACTIVE") == "DEPRECATED"]
    assert deprecated, "the built catalogue must hold a deprecated dataset"
    rec = deprecated[0]
    assert len(dkist_search(a.dkist.Dataset(rec["datasetId"]))) == 0
    from sunpy.net import Fido

    res = Fido.search(a.dkist.Dataset(rec["datasetId"]), a.dkist.Status("any"))
    found = [i for table in res for i in (table["Dataset ID"] if len(table) else [])]
    assert found == [rec["datasetId"]]


def test_embargoed(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    for flag in (True, False):
        expected = [r for r in active(catalogue) if bool(r["isEmbargoed"]) is flag]
        table = dkist_search(a.dkist.Embargoed(flag))
        assert result_ids(table) == ids(expected), flag


def test_fried_parameter_units_issue_613(dc, catalogue_and_root):
    """The API holds r0 in metres; dkist's attr sends centimetres (dkist issue 613).

    The server implements the API (metres). So ``FriedParameter(lo*u.cm, hi*u.cm)``
    with the *metre* numbers is what selects [lo, hi] m today, and the physically
    correct ``FriedParameter(5*u.cm, 10*u.cm)`` asks the API for 5..10 m: nothing.
    """
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    values = sorted(
        r["qualityAverageFriedParameter"]
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None
    )
    lo, hi = values[0], values[len(values) // 2]
    expected = [
        r
        for r in active(catalogue)
        if r.get("qualityAverageFriedParameter") is not None and lo <= r["qualityAverageFriedParameter"] <= hi
    ]
    assert 0 < len(expected) < len(active(catalogue))
    # metre numbers passed with a cm unit: sent unchanged, the API reads metres
    table = dkist_search(a.dkist.FriedParameter(lo * u.cm, hi * u.cm))
    assert result_ids(table) == ids(expected)
    # the correct physical quantity is off by 100 on the wire
    table = dkist_search(a.dkist.FriedParameter(lo * u.m, hi * u.m))
    assert all(v < 1.0 for v in values)  # real r0 values are far below 1 m ...
    assert len(table) == 0  # ... so asking for lo*100..hi*100 "m" finds nothing
    # datasets without r0 never match a range
    nulls = [r for r in active(catalogue) if r.get("qualityAverageFriedParameter") is None]
    table = dkist_search(a.dkist.FriedParameter(0 * u.cm, 1e6 * u.cm))
    assert not set(result_ids(table)) & {r["datasetId"] for r in nulls}
    assert len(table) == len(active(catalogue)) - len(nulls)


def test_target_type_and_stokes(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    for target in sorted({x for r in active(catalogue) for x in r.get("targetTypes") or []})[:4]:
        expected = [r for r in active(catalogue) if target in (r.get("targetTypes") or [])]
        assert result_ids(dkist_search(a.dkist.TargetType(target))) == ids(expected), target
    expected = [r for r in active(catalogue) if r.get("hasAllStokes")]
    assert result_ids(dkist_search(a.Physobs("stokes_parameters"))) == ids(expected)
    expected = [r for r in active(catalogue) if not r.get("hasAllStokes")]
    assert result_ids(dkist_search(a.Physobs("intensity"))) == ids(expected)


def test_empty_result(dc):
    from sunpy.net import attrs as a

    table = dkist_search(a.dkist.Dataset("NO_SUCH_DATASET"))
    assert len(table) == 0
    assert table.total_available_results == 0
    with pytest.raises(KeyError):
        table["Dataset ID"]  # an empty result has no columns at all (FACTS)


def test_paging(dc, catalogue_and_root):
    from sunpy.net import attrs as a

    catalogue, _ = catalogue_and_root
    expected = [r["datasetId"] for r in active(catalogue) if not r["isEmbargoed"]]
    assert len(expected) >= 3
    seen = []
    for page in range(1, len(expected) // 2 + 2):
        table = dkist_search(a.dkist.Embargoed(False), a.dkist.PageSize(2), a.dkist.Page(page))
        assert table.total_available_results == len(expected)
        chunk = list(table["Dataset ID"]) if len(table) else []
        assert chunk == expected[(page - 1) * 2 : page * 2]  # catalogue order
        seen += chunk
    assert seen == expected
    assert f"Showing 2 of {len(expected)}" in str(dkist_search(a.dkist.Embargoed(False), a.dkist.PageSize(2)))


def test_every_walker_parameter_is_understood(dc):
    """One instance of every attr the DKIST walker knows; the server must accept each.

    An unknown parameter is a 400 from this server, so this catches a dkist release
    that adds a search parameter the loopback does not implement.
    """
    from astropy.coordinates import SkyCoord
    from dkist.net.attr_walker import walker
    from dkist.net.client import DKISTClient
    from sunpy.coordinates import frames
    from sunpy.net import attr
    from sunpy.net import attrs as a

    hpc = frames.Helioprojective(observer="earth", obstime="2022-01-01")
    corner = SkyCoord(-500 * u.arcsec, 100 * u.arcsec, frame=hpc)
    top = SkyCoord(-300 * u.arcsec, 300 * u.arcsec, frame=hpc)
    samples = [
        a.Time("2022-01-01", "2022-01-02"),
        a.Instrument("VISP"),
        a.Wavelength(500 * u.nm),
        a.Physobs("spectral_axis"),
        a.Physobs("temporal_axis"),
        a.Provider("DKIST"),
        a.Level(1),
        a.dkist.PageSize(3),
        a.dkist.Page(1),
        a.dkist.Dataset("X"),
        a.dkist.Experiment("eid_1"),
        a.dkist.Proposal("pid_1"),
        a.dkist.TargetType("sunspot"),
        a.dkist.Recipe(1),
        a.dkist.Embargoed(False),
        a.dkist.FriedParameter(1 * u.cm, 2 * u.cm),
        a.dkist.ExposureTime(1 * u.s, 2 * u.s),
        a.dkist.EmbargoEndTime("2022-01-01", "2030-01-01"),
        a.dkist.SpectralSampling(1 * u.pm, 2 * u.pm),
        a.dkist.SpatialSampling(0.01 * u.arcsec / u.pix, 0.1 * u.arcsec / u.pix),
        a.dkist.TemporalSampling(1 * u.s, 10 * u.s),
        a.dkist.BrowseMovie(movieurl="u", movieobjectkey="k"),
        a.dkist.BoundingBox(corner, top_right=top, search="containing"),
        a.dkist.BoundingBox(corner, top_right=top, search="contained"),
        a.dkist.BoundingBox(corner, top_right=top, search="intersecting"),
        a.dkist.SummitSoftwareVersion("v"),
        a.dkist.WorkflowName("w"),
        a.dkist.WorkflowVersion("1"),
        a.dkist.ObservingProgramExecutionID("o"),
        a.dkist.InstrumentProgramExecutionID("i"),
        a.dkist.HeaderVersion("4"),
        a.dkist.Product("L1-X"),
        a.dkist.Status("DEPRECATED"),
    ]
    covered = {type(s) for s in samples}
    registered = set(walker.applymm.registry) - {attr.AttrAnd, attr.AttrOr, attr.DataAttr, object}
    assert registered <= covered, f"attrs without a sample: {registered - covered}"
    client = DKISTClient()
    for sample in samples:
        client.search(sample)  # raises urllib.error.HTTPError (400) on an unknown parameter


def test_bad_parameter_is_a_400_with_json(dc):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(dc.dataset_endpoint + "v1?spamEggs=1", timeout=5)
    assert info.value.code == 400
    assert "spamEggs" in json.load(info.value)["error"]


# --- downloads --------------------------------------------------------------------------


def test_fetch_load_quality_movie(dc, catalogue_and_root, tmp_path):
    import imageio_ffmpeg
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, root = catalogue_and_root
    with_files = files_on_disk(catalogue, root)
    assert with_files, "the catalogue has no dataset with files"
    rec = with_files[0]
    res = Fido.search(a.dkist.Dataset(rec["datasetId"]))
    files = Fido.fetch(res, path=str(tmp_path / "{dataset_id}"), progress=False)
    assert not files.errors, files.errors
    asdf_name = Path(rec["asdfObjectKey"]).name
    assert [Path(f) for f in files] == [tmp_path / rec["datasetId"] / asdf_name]
    local = Path(files[0])
    assert local.read_bytes() == (root / rec["bucket"] / rec["asdfObjectKey"]).read_bytes()

    ds = one_dataset(dkist.load_dataset(local))
    assert ds.meta["inventory"]["datasetId"] == rec["datasetId"]
    assert Path(ds.files.basepath) == local.parent

    report = ds.files.quality_report()
    assert not report.errors, report.errors
    pdf = Path(report[0])
    assert pdf.name == Path(rec["qualityReportObjectKey"]).name
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.read_bytes() == (root / rec["bucket"] / rec["qualityReportObjectKey"]).read_bytes()

    movie = ds.files.preview_movie()
    assert not movie.errors, movie.errors
    mp4 = Path(movie[0])
    assert mp4.name == Path(rec["browseMovieObjectKey"]).name
    assert mp4.read_bytes()[4:8] == b"ftyp"
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(mp4), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert "h264" in probe.stderr and "yuv420p" in probe.stderr


def test_unknown_dataset_download_is_404_json(dc, tmp_path):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(dc.download_endpoint + "/asdf?datasetId=NOPE", timeout=5)
    assert info.value.code == 404
    assert json.load(info.value)["datasetId"] == "NOPE"

    # through parfive: an error in the results, no file
    import parfive

    dl = parfive.Downloader(progress=False)
    dl.enqueue_file(dc.download_endpoint + "/quality?datasetId=NOPE", path=tmp_path)
    results = dl.download()
    assert len(results) == 0 and len(results.errors) == 1
    assert list(tmp_path.iterdir()) == []


def test_dataset_whose_files_are_missing_is_404(built_dc, tmp_path):
    dc, catalogue, root = built_dc
    missing = [r for r in catalogue if not (root / r["bucket"] / r["asdfObjectKey"]).is_file()]
    assert missing, "the built catalogue must hold records without files"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{dc.download_endpoint}/asdf?datasetId={missing[0]['datasetId']}", timeout=5)
    assert info.value.code == 404
    assert "missing" in json.load(info.value)["error"]


# --- faults -------------------------------------------------------------------------------


def _search_one(dc, catalogue):
    from sunpy.net import attrs as a

    return dkist_search(a.dkist.Dataset(active(catalogue)[0]["datasetId"]))


def test_fault_500(dc, catalogue_and_root):
    catalogue, _ = catalogue_and_root
    dc.inject_fault("500", count=1, routes=["search"])
    with pytest.raises(urllib.error.HTTPError) as info:
        _search_one(dc, catalogue)
    assert info.value.code == 500
    assert len(_search_one(dc, catalogue)) == 1  # count=1: the next request is fine


def test_fault_garbage(dc, catalogue_and_root):
    catalogue, _ = catalogue_and_root
    dc.inject_fault("garbage", count=1)
    with pytest.raises(json.JSONDecodeError):
        _search_one(dc, catalogue)


def test_fault_drop(dc, catalogue_and_root):
    catalogue, _ = catalogue_and_root
    dc.inject_fault("drop", count=1)
    with pytest.raises((RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        _search_one(dc, catalogue)


def test_fault_slow(dc, catalogue_and_root, tmp_path, monkeypatch):
    """Slow answers: an error where the client has a timeout, a wait where it has none."""

    from dkist.net.attrs_values import attempt_local_update

    catalogue, root = catalogue_and_root
    # dkist's searchValues refresh has a timeout: it raises instead of hanging
    dc.inject_fault("slow", count=None, delay=3.0, routes=["searchValues"])
    began = time.monotonic()
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        attempt_local_update(timeout=0.5, silence_net_errors=False, user_file=tmp_path / "v.json")
    assert time.monotonic() - began < 2.5
    dc.clear_faults()

    # parfive reads PARFIVE_SOCK_READ_TIMEOUT when a Downloader is made: the quality
    # report download (a fresh Downloader per call) turns a slow answer into an error.
    # (Fido.fetch uses sunpy's Downloader, configured once at sunpy import: 90 s.)
    rec = files_on_disk(catalogue, root)[0]
    ds = one_dataset(dkist.load_dataset(root / rec["bucket"] / rec["asdfObjectKey"]))
    monkeypatch.setenv("PARFIVE_SOCK_READ_TIMEOUT", "0.5")
    dc.inject_fault("slow", count=None, delay=3.0, routes=["quality"])
    began = time.monotonic()
    report = ds.files.quality_report(path=tmp_path)
    assert len(report) == 0 and len(report.errors) == 1
    assert "Timeout" in str(report.errors[0].exception)
    assert time.monotonic() - began < 2.9
    assert not list(tmp_path.glob("*.pdf"))
    dc.clear_faults()

    # dkist's search itself has NO timeout (urlopen without one): it waits, then works.
    # Widgets must therefore run searches off the kernel's main thread.
    dc.inject_fault("slow", count=1, delay=1.0, routes=["search"])
    began = time.monotonic()
    assert len(_search_one(dc, catalogue)) == 1
    assert time.monotonic() - began >= 1.0


def test_download_fault_must_cover_head_and_get(dc, catalogue_and_root, tmp_path):
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, root = catalogue_and_root
    rec = files_on_disk(catalogue, root)[0]
    res = Fido.search(a.dkist.Dataset(rec["datasetId"]))
    dc.reset_counts()
    dc.inject_fault("500", count=None, routes=["asdf"])
    files = Fido.fetch(res, path=str(tmp_path / "{dataset_id}"), progress=False)
    assert len(files) == 0 and len(files.errors) == 1
    assert dc.request_counts["asdf"] == 2  # parfive: HEAD, then GET after the HEAD failed
    dc.clear_faults()
    files = Fido.fetch(res, path=str(tmp_path / "{dataset_id}"), progress=False)
    assert not files.errors and len(files) == 1


def test_admin_routes_from_another_client(dc, catalogue_and_root):
    catalogue, _ = catalogue_and_root

    def call(method, path, body=None):
        req = urllib.request.Request(
            dc.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)

    dc.reset_counts()
    assert call("POST", "/_sandbox/faults", {"kind": "500", "count": 2, "routes": ["search"]})
    assert [f.kind for f in dc.faults] == ["500"]
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError):
            _search_one(dc, catalogue)
    assert dc.faults == []  # used up
    call("POST", "/_sandbox/faults", {"kind": "drop", "count": None})
    assert call("DELETE", "/_sandbox/faults") == {"cleared": True}
    assert len(_search_one(dc, catalogue)) == 1
    stats = call("GET", "/_sandbox/stats")
    assert stats["by_route"] == {"search": 3} and stats["requests"] == 3
    with pytest.raises(urllib.error.HTTPError) as info:
        call("POST", "/_sandbox/faults", {"kind": "explode"})
    assert info.value.code == 400


def test_stop_does_not_hang_on_a_slow_request(catalogue_and_root):
    import threading

    catalogue, root = catalogue_and_root
    server = DataCentre(catalogue, root).start()
    server.inject_fault("slow", count=None, delay=60)
    url = server.dataset_endpoint + "v1/config"
    errors = []

    def call():
        try:
            urllib.request.urlopen(url, timeout=10).read()
        except Exception as err:  # noqa: BLE001 - the connection is closed without an answer
            errors.append(err)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    began = time.monotonic()
    server.stop()
    caller.join(timeout=10)
    assert time.monotonic() - began < 5 and not caller.is_alive()
    assert errors


# --- other processes ------------------------------------------------------------------------


CHILD = r"""
import json, sys
from sunpy.net import Fido, attrs as a
import dkist.net
res = Fido.search(a.dkist.Dataset(sys.argv[1]))
print(json.dumps({
    "ids": [str(i) for i in res[0]["Dataset ID"]] if len(res[0]) else [],
    "dataset_endpoint": dkist.net.conf.dataset_endpoint,
    "widgets_imported": any(m.startswith("dkist_widgets") for m in sys.modules),
    "targets": sorted(a.dkist.TargetType._attr_registry[a.dkist.TargetType].name_long),
}))
"""


def test_fresh_process_reaches_loopback_with_kernel_environment(dc, catalogue_and_root, tmp_path, monkeypatch):
    catalogue, _ = catalogue_and_root
    rec = active(catalogue)[0]
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # dkist's value cache: private
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XDG_CONFIG_HOME")}
    dc.reset_counts()
    added = kernel_environment(
        tmp_path / "cfg", dc.dataset_endpoint, dc.download_endpoint, transfer_url="http://127.0.0.1:1/v0.10/"
    )
    assert added["GLOBUS_SDK_SERVICE_URL_TRANSFER"] == "http://127.0.0.1:1/v0.10/"
    env.update(added)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, rec["datasetId"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer == {
        "ids": [rec["datasetId"]],
        "dataset_endpoint": dc.dataset_endpoint,
        "widgets_imported": False,
        "targets": sorted({x for r in catalogue for x in r.get("targetTypes") or []}),
    }
    counts = dc.request_counts
    # one searchValues to seed the cache, one by the child's import (attr_max_age=0)
    assert counts["search"] == 1 and counts["searchValues"] == 2
    cached = json.loads((tmp_path / "data" / "dkist" / "api_search_values.json").read_text())
    assert cached == search_values(catalogue)


def test_kernel_environment_keeps_other_config(tmp_path, monkeypatch):
    user_config = tmp_path / "user-config"
    (user_config / "matplotlib").mkdir(parents=True)
    (user_config / "matplotlib" / "matplotlibrc").write_text("lines.linewidth: 3\n")
    (user_config / "dkist").mkdir()
    (user_config / "dkist" / "dkist.cfg").write_text(
        "[net]\ndefault_page_size = 7\ndataset_endpoint = https://elsewhere/\n"
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_config))
    target = tmp_path / "kernel-config"
    env = kernel_environment(target, "http://127.0.0.1:9/datasets/", "http://127.0.0.1:9/download")
    assert env == {"XDG_CONFIG_HOME": str(target.absolute())}
    assert (target / "matplotlib").is_symlink()
    assert (target / "matplotlib" / "matplotlibrc").read_text() == "lines.linewidth: 3\n"
    from astropy.extern.configobj import configobj

    cfg = configobj.ConfigObj(str(target / "dkist" / "dkist.cfg"))
    assert cfg["net"]["default_page_size"] == "7"  # the user's own setting survives
    assert cfg["net"]["dataset_endpoint"] == "http://127.0.0.1:9/datasets/"
    assert cfg["net"]["download_endpoint"] == "http://127.0.0.1:9/download"
    # the user's file is untouched
    assert "elsewhere" in (user_config / "dkist" / "dkist.cfg").read_text()
    # running again is fine
    kernel_environment(target, "http://127.0.0.1:8/datasets/", "http://127.0.0.1:8/download")
    cfg = configobj.ConfigObj(str(target / "dkist" / "dkist.cfg"))
    assert cfg["net"]["dataset_endpoint"] == "http://127.0.0.1:8/datasets/"
    with pytest.raises(ValueError, match="end with '/'"):
        kernel_environment(target, "http://127.0.0.1:8/datasets", "http://127.0.0.1:8/download")


def test_kernel_environment_copies_config_where_symlinks_are_refused(tmp_path, monkeypatch):
    """Windows without developer mode refuses symlinks (OSError 1314): entries are copied,
    and copied afresh on the next run so an edit of the user's file reaches the kernels."""

    def refuse(self, target, target_is_directory=False):
        raise OSError(1314, "A required privilege is not held by the client")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    monkeypatch.setattr(os, "symlink", refuse)
    user_config = tmp_path / "user-config"
    (user_config / "matplotlib").mkdir(parents=True)
    (user_config / "matplotlib" / "matplotlibrc").write_text("lines.linewidth: 3\n")
    (user_config / "sunpyrc").write_text("[general]\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_config))
    target = tmp_path / "kernel-config"
    env = kernel_environment(target, "http://127.0.0.1:9/datasets/", "http://127.0.0.1:9/download")
    assert env == {"XDG_CONFIG_HOME": str(target.absolute())}
    assert not (target / "matplotlib").is_symlink()
    assert (target / "matplotlib" / "matplotlibrc").read_text() == "lines.linewidth: 3\n"
    assert (target / "sunpyrc").read_text() == "[general]\n"
    assert (target / "dkist" / "dkist.cfg").is_file()
    (user_config / "matplotlib" / "matplotlibrc").write_text("lines.linewidth: 5\n")
    (user_config / "sunpyrc").unlink()
    kernel_environment(target, "http://127.0.0.1:8/datasets/", "http://127.0.0.1:8/download")
    assert (target / "matplotlib" / "matplotlibrc").read_text() == "lines.linewidth: 5\n"
    assert not (target / "sunpyrc").exists()
    assert (target / "dkist" / "dkist.cfg").is_file()  # never touched by the refresh
