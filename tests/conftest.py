"""Session-wide test settings.

* The sample archive is generated once per machine into a persistent cache
  (``$DKIST_WIDGETS_TEST_DATA``, default ``<user cache>/dkist-widgets/test-data``) and
  reused by later runs, so CI on a machine that ran the tests before skips the
  ~45 s generation. ``DKIST_WIDGETS_DATA_DIR`` set by the caller wins.
* Tests that exercise the loopback data centre run against that real sample
  archive (``DKIST_WIDGETS_TEST_ARCHIVE=sample``) unless the caller chose otherwise.
* ``world``: a fresh loopback world (data centre, Globus Transfer and Auth) per test
  module, with its own local endpoint folder; a module may define its own instead.
* ``archive``: the sample archive (``ensure_archive()``, from the cache above); a
  module may define its own ``archive`` instead (test_archive, test_transfers and
  test_hostile_services do).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

#: Fixtures shared across test modules live in tests/helpers/ and are registered here.
pytest_plugins = ["tests.helpers.globus_login", "tests.helpers.search_world"]


def _default_test_data_dir() -> Path:
    explicit = os.environ.get("DKIST_WIDGETS_TEST_DATA")
    if explicit:
        return Path(explicit)
    return Path(platformdirs.user_cache_dir("dkist-widgets")) / "test-data"


os.environ.setdefault("DKIST_WIDGETS_DATA_DIR", str(_default_test_data_dir()))
os.environ.setdefault("DKIST_WIDGETS_TEST_ARCHIVE", "sample")

# Tests run offline: astropy uses the Earth-orientation tables it ships instead of trying to
# download newer ones (astropy 7.0 in the oldest-versions job tried, and warned, per time).
from astropy.utils import iers  # noqa: E402

iers.conf.auto_download = False


def pytest_report_header(config):
    return [
        f"dkist-widgets data dir: {os.environ['DKIST_WIDGETS_DATA_DIR']}",
        f"loopback data centre catalogue: {os.environ['DKIST_WIDGETS_TEST_ARCHIVE']}",
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from dkist_widgets import sandbox

    world = sandbox.start(local_endpoint_dir=tmp_path_factory.mktemp("local-endpoint"), attach=False)
    yield world
    world.stop()


@pytest.fixture(scope="session")
def archive():
    """The sample archive. ensure_archive is idempotent and cached on disk, so one per session."""
    from dkist_widgets.sandbox.archive import ensure_archive

    return ensure_archive()
