"""The test catalogue of the loopback data centre, built from dkist's own test ASDFs.

Two datasets with real files (``croppable_cryo``, ``large_visp``, with a quality report
and a preview movie each) and synthetic records without files for the filter tests;
:func:`serving_datacentre` runs a loopback data centre over a catalogue with this
process's dkist pointed at it. Used by ``tests/sandbox/test_datacentre.py`` and
:mod:`tests.helpers.search_world`.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import gzip
import shutil
from pathlib import Path

import dkist
import numpy as np
import pytest

from dkist_widgets.sandbox.datacentre import DataCentre
from dkist_widgets.sandbox.dkist_config import configure_this_process
from dkist_widgets.sandbox.products import write_preview_movie, write_quality_report

DKIST_TEST_DATA = Path(dkist.__file__).parent / "data" / "test"


def _complete_record(inv: dict, **overrides) -> dict:
    """A full search record (the keys of dkist's test payloads) from an ASDF inventory."""
    rec = copy.deepcopy(inv)
    rec.pop("dataset_size", None)  # an old inventory spelling; the API says datasetSize
    ds_id, prop = rec["datasetId"], rec["primaryProposalId"]
    rec.update(
        {
            "bucket": "data",
            "asdfObjectKey": f"{prop}/{ds_id}/{Path(rec['asdfObjectKey']).name}",
            "browseMovieObjectKey": f"{prop}/{ds_id}/{ds_id}.mp4",
            "qualityReportObjectKey": f"{prop}/{ds_id}/{ds_id}.pdf",
            "browseMovieUrl": f"https://example.invalid/movie/{ds_id}",
            "productId": rec.get("productId") or f"L1-{ds_id}X",
            "datasetSize": rec.get("datasetSize", 1),
            "frameCount": rec.get("frameCount", 10),
            "isEmbargoed": False,
            "embargoEndDate": None,
            "status": "ACTIVE",
            "createDate": "2024-01-01T00:00:00",
            "updateDate": "2024-01-01T00:00:00",
            "isDownloadable": True,
            "experimentDescription": "Sandbox test dataset",
            "observables": [],
        }
    )
    rec.update(overrides)
    return rec


def _synthetic(base: dict, n: int, **overrides) -> dict:
    """A record without files (a different dataset id), for filter tests."""
    ds_id = f"S{n:04d}"
    rec = _complete_record(base, datasetId=ds_id, productId=f"L1-{ds_id}P")
    rec["asdfObjectKey"] = f"{rec['primaryProposalId']}/{ds_id}/X_{ds_id}.asdf"
    rec["browseMovieObjectKey"] = f"{rec['primaryProposalId']}/{ds_id}/{ds_id}.mp4"
    rec["qualityReportObjectKey"] = f"{rec['primaryProposalId']}/{ds_id}/{ds_id}.pdf"
    rec.update(overrides)
    if "primaryProposalId" in overrides:
        for key in ("asdfObjectKey", "browseMovieObjectKey", "qualityReportObjectKey"):
            rec[key] = f"{overrides['primaryProposalId']}/{ds_id}/{Path(rec[key]).name}"
    return rec


def _build_test_catalogue(root: Path) -> list[dict]:
    records = []
    for name in ("croppable_cryo", "large_visp"):
        asdf_tmp = root / f"{name}.asdf"
        with gzip.open(DKIST_TEST_DATA / f"{name}.asdf.gz") as src, asdf_tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        ds = dkist.load_dataset(asdf_tmp)
        inv = dict(ds.meta["inventory"])
        if inv["datasetId"] == "YVl4O":  # its inventory holds placeholder numbers
            inv.update(
                qualityAverageFriedParameter=0.071,
                primaryProposalId="pid_1_118",
                productId="L1-YVl4OP",
                targetTypes=["sunspot", "pore"],
            )
        rec = _complete_record(inv)
        folder = root / rec["bucket"] / Path(rec["asdfObjectKey"]).parent
        folder.mkdir(parents=True, exist_ok=True)
        asdf_tmp.replace(root / rec["bucket"] / rec["asdfObjectKey"])
        write_quality_report(root / rec["bucket"] / rec["qualityReportObjectKey"], ds.headers, rec)
        yy, xx = np.mgrid[0:48, 0:64]
        frames = [np.sin(xx / 7 + i / 3) + np.cos(yy / 5) for i in range(12)]
        write_preview_movie(root / rec["bucket"] / rec["browseMovieObjectKey"], frames, fps=6)
        records.append(rec)

    cryo, visp = records
    day = dt.timedelta(days=1)

    def shifted(rec, days):
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
        s = dt.datetime.fromisoformat(rec["startTime"]) + days * day
        e = dt.datetime.fromisoformat(rec["endTime"]) + days * day
        return {"startTime": s.strftime(fmt), "endTime": e.strftime(fmt)}

    records += [
        _synthetic(
            visp, 1, **shifted(visp, 1), qualityAverageFriedParameter=0.052, wavelengthMin=853.0, wavelengthMax=855.5
        ),
        _synthetic(
            visp,
            2,
            **shifted(visp, 2),
            qualityAverageFriedParameter=None,
            isEmbargoed=True,
            embargoEndDate="2031-01-01T00:00:00",
        ),
        _synthetic(
            visp,
            3,
            **shifted(visp, 30),
            qualityAverageFriedParameter=0.123,
            primaryProposalId="pid_2_7",
            hasAllStokes=False,
        ),
        _synthetic(visp, 4, **shifted(visp, 31), status="DEPRECATED", productId="L1-YVl4OP"),
        _synthetic(
            cryo,
            5,
            **shifted(cryo, 3),
            qualityAverageFriedParameter=0.091,
            isEmbargoed=True,
            embargoEndDate="2031-06-01T00:00:00",
        ),
        _synthetic(
            cryo,
            6,
            **shifted(cryo, 400),
            instrumentName="DL-NIRSP",
            wavelengthMin=1074.0,
            wavelengthMax=1076.0,
            targetTypes=["quietsun"],
        ),
        _synthetic(
            cryo,
            7,
            **shifted(cryo, 401),
            instrumentName="VBI",
            hasAllStokes=False,
            wavelengthMin=393.2,
            wavelengthMax=393.5,
            qualityAverageFriedParameter=0.15,
        ),
        _synthetic(
            cryo,
            8,
            **shifted(cryo, 402),
            instrumentName="VBI",
            hasAllStokes=False,
            wavelengthMin=656.2,
            wavelengthMax=656.4,
            qualityAverageFriedParameter=0.033,
            primaryProposalId="pid_2_7",
        ),
    ]
    return records


@contextlib.contextmanager
def serving_datacentre(catalogue, root, xdg_data_home):
    """A loopback data centre over (catalogue, root), running, with this process's dkist
    pointed at it and ``XDG_DATA_HOME`` set to ``xdg_data_home`` (dkist caches
    searchValues under the user data dir: the tests' copy stays private). On exit the
    centre stops and dkist's endpoints and ``XDG_DATA_HOME`` are restored."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(xdg_data_home))
        centre = DataCentre(catalogue, root).start()
        previous = configure_this_process(centre.dataset_endpoint, centre.download_endpoint)
        try:
            yield centre
        finally:
            centre.stop()
            configure_this_process(**previous, refresh_values=False)
