"""The one path-template engine (dkist_widgets.core.path_template), for both uses:
download paths (``Fido.fetch`` style) and Globus destination folders.

Oracles: dkist itself -- ``dkist.utils.inventory.path_format_keys()`` for the key
list, ``path_format_inventory`` for the values dkist fills from a record, and a real
``Fido.fetch(path=...)`` against the loopback data centre for where a file lands --
and, for the destination rules carried over from ``core.transfers``, the literal
paths those tests pinned (moved here from ``tests/core/test_transfers.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dkist_widgets.core import search as core
from dkist_widgets.core.path_template import (
    TEMPLATE_FIELDS,
    PathTemplate,
    PathTemplateError,
    dkist_keys,
    expand_destination,
    known_keys,
    placeholder_fields,
    template_fields,
)

pytestmark = pytest.mark.timeout(120)

PROPOSAL, DATASET = "pid_1_123", "ABCDE"

#: Keys whose values are plain text in dkist's result table too (no Time / Quantity).
TEXT_KEYS = (
    "dataset_id",
    "primary_proposal_id",
    "instrument",
    "product_id",
    "storage_bucket",
    "primary_experiment_id",
    "status",
    "calibration_workflow_name",
)


# ---------------------------------------------------------------------- destinations
# (core.transfers.expand_destination is this engine's: one copy of these tests)
@pytest.mark.parametrize(
    "template, root, expected",
    [
        ("dkist/{proposal_id}/{dataset_id}", "/~/", "/~/dkist/pid_1_123/ABCDE/"),
        ("{instrument}/{date}", "/~/solar", "/~/solar/VISP/2022-06-01/"),
        ("", "/~/", "/~/"),
        ("/~/x/{dataset_id}", "/~/", "/~/x/ABCDE/"),
        ("a/./b//{year}/", "/data/", "/data/a/b/2022/"),
    ],
)
def test_destination_templates_expand(template, root, expected):
    fields = {
        "dataset_id": DATASET,
        "proposal_id": PROPOSAL,
        "instrument": "VISP",
        "date": "2022-06-01",
        "year": "2022",
    }
    assert expand_destination(template, fields, root) == expected


@pytest.mark.parametrize(
    "template, fields, root, words",
    [
        ("{nope}", {}, "/~/", "Unknown field {nope}"),
        ("../{dataset_id}", {"dataset_id": "A"}, "/~/", "'..'"),
        ("a/../../b", {}, "/~/", "'..'"),
        ("/etc/{dataset_id}", {"dataset_id": "A"}, "/~/", "not under the destination root"),
        ("{dataset_id}", {"dataset_id": "../A"}, "/~/", "cannot be used as a folder name"),
        ("{dataset_id}", {"dataset_id": "a/b"}, "/~/", "cannot be used as a folder name"),
        ("{dataset_id:>10}", {"dataset_id": "A"}, "/~/", "may not have a format"),
        ("{dataset_id!r}", {"dataset_id": "A"}, "/~/", "may not have a format"),
        ("{", {}, "/~/", "unbalanced braces"),
        ("{product_id}", {"product_id": None}, "/~/", "no value for {product_id}"),
        ("x", {}, "relative/root", "must be an absolute Globus path"),
    ],
)
def test_destination_templates_refused_with_reason(template, fields, root, words):
    with pytest.raises(PathTemplateError) as err:
        expand_destination(template, fields, root)
    assert words in str(err.value)


def test_destination_refuses_file_and_dkist_values_with_slashes():
    record = {"datasetId": DATASET, "asdfObjectKey": f"{PROPOSAL}/{DATASET}/X.asdf"}
    with pytest.raises(PathTemplateError, match="a destination is a folder"):
        expand_destination("{dataset_id}/{file}", template_fields(record))
    # a real dkist key whose value is an object key with '/' in it
    with pytest.raises(PathTemplateError, match="cannot be used as a folder name"):
        expand_destination("{asdf_filename}", template_fields(record))
    with pytest.raises(PathTemplateError, match=r"did you mean \{primary_proposal_id\}"):
        expand_destination("{primary_proposal}", template_fields(record))


# ---------------------------------------------------------------------- keys


def test_keys_are_dkists_plus_the_documented_aliases():
    from dkist.utils.inventory import path_format_keys

    assert dkist_keys() == tuple(path_format_keys())
    keys = set(known_keys())
    assert set(path_format_keys()) <= keys
    assert set(TEMPLATE_FIELDS) <= keys  # the destination fields of earlier releases
    assert "file" not in keys and "file" in known_keys(file=True)
    assert set(known_keys()) == set(placeholder_fields())


def test_template_fields_of_an_inventory():
    inventory = {
        "datasetId": DATASET,
        "primaryProposalId": PROPOSAL,
        "instrumentName": "VISP",
        "productId": "L1-ABCDEP",
        "startTime": "2022-06-01T12:00:00.5",
        "stokesParameters": ["I", "Q"],
        "qualityAverageFriedParameter": float("nan"),
        "frameCount": 400,
    }
    fields = template_fields(inventory)
    # the seven destination fields, as core.transfers.template_fields gave them
    assert {k: fields[k] for k in TEMPLATE_FIELDS} == {
        "dataset_id": DATASET,
        "proposal_id": PROPOSAL,
        "instrument": "VISP",
        "product_id": "L1-ABCDEP",
        "bucket": "data",
        "date": "2022-06-01",
        "year": "2022",
    }
    # dkist's keys, filled from the camelCase record keys behind them
    assert fields["primary_proposal_id"] == PROPOSAL
    assert fields["storage_bucket"] == "data"  # no bucket in the record: dkist's default bucket
    assert fields["number_of_frames"] == "400"
    assert fields["stokes_parameters"] == "I, Q"
    assert fields["average_fried_parameter"] is None  # NaN is missing
    assert fields["recipe_id"] is None
    with pytest.raises(PathTemplateError, match="Dataset 'ABCDE' has no value for {recipe_id}"):
        expand_destination("{recipe_id}", fields)


# ---------------------------------------------------------------------- against dkist


def _row_of(record):
    from dkist.net.client import DKISTQueryResponseTable

    return DKISTQueryResponseTable.from_results([{"searchResults": [record]}], client=None)[0]


def test_values_equal_what_dkist_fills_from_a_record(dc, search_catalogue_and_root):
    from dkist.utils.inventory import humanize_inventory, path_format_inventory

    catalogue, _root = search_catalogue_and_root
    for record in catalogue[:4]:
        theirs = path_format_inventory(humanize_inventory(record))
        ours = template_fields(record)
        for key in TEXT_KEYS:
            assert ours[key] == str(theirs[key]), (key, record["datasetId"])
        # every key dkist's Fido rows offer for a path is one the engine knows
        assert set(_row_of(record).response_block_map) <= set(known_keys())


def test_globus_destination_with_dkist_keys_equals_dkists_transfer_path(dc, search_catalogue_and_root):
    """``transfer_complete_datasets(path="/~/dkist/{primary_proposal_id}")`` formats
    ``path/{dataset_id}`` with ``path_format_inventory``: the engine names the same folder."""
    from dkist.utils.inventory import humanize_inventory, path_format_inventory

    catalogue, _root = search_catalogue_and_root
    for record in catalogue[:4]:
        dkist_path = Path("/~/dkist/{primary_proposal_id}/{storage_bucket}") / "{dataset_id}"
        theirs = str(dkist_path).format(**path_format_inventory(humanize_inventory(record)))
        ours = expand_destination(
            "dkist/{primary_proposal_id}/{storage_bucket}/{dataset_id}", template_fields(record), "/~/"
        )
        assert ours == theirs + "/"
        # the alias and the dkist key name the same folder
        assert ours == expand_destination("dkist/{proposal_id}/{bucket}/{dataset_id}", template_fields(record))


def test_fido_path_with_dkist_keys_equals_dkists_make_filename(dc, search_catalogue_and_root, tmp_path):
    from dkist.net.client import DKISTClient

    catalogue, _root = search_catalogue_and_root
    for record in catalogue[:4]:
        for text in (
            str(tmp_path / "{instrument}" / "{primary_proposal_id}" / "{dataset_id}_{file}"),
            str(tmp_path / "{storage_bucket}" / "{product_id}" / "{file}"),
        ):
            name = f"{record['datasetId']}.asdf"  # _make_filename's name without a response
            theirs = DKISTClient._make_filename(text, _row_of(record), None, "")
            assert PathTemplate(text).path_for(record, name) == Path(theirs)


def test_fido_fetch_lands_where_the_engine_says(dc, search_catalogue_and_root, tmp_path):
    """A real ``Fido.fetch(path=...)`` with dkist's own keys, and our download with the
    same template, write the same relative paths, byte for byte the same files."""
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    catalogue, root = search_catalogue_and_root
    records = [r for r in catalogue if (root / r["bucket"] / r["asdfObjectKey"]).is_file()][:2]
    assert records
    tail = "{primary_proposal_id}/{instrument}/{dataset_id}"
    res = Fido.search(a.dkist.Dataset([r["datasetId"] for r in records]))
    fido = Fido.fetch(res, path=str(tmp_path / "fido" / tail), progress=False)
    assert not fido.errors
    outcomes = core.fetch_asdfs(records, str(tmp_path / "ours" / tail) + "/")
    assert all(o.error is None for o in outcomes), outcomes
    theirs = sorted(Path(f).relative_to(tmp_path / "fido") for f in fido)
    ours = sorted(o.path.relative_to(tmp_path / "ours") for o in outcomes)
    assert ours == theirs
    for outcome in outcomes:
        record = next(r for r in records if r["datasetId"] == outcome.dataset_id)
        assert outcome.path.parts[-4:-1] == (record["primaryProposalId"], record["instrumentName"], record["datasetId"])
        assert outcome.path.read_bytes() == (root / record["bucket"] / record["asdfObjectKey"]).read_bytes()


# ---------------------------------------------------------------------- download paths


def test_download_path_refuses_what_destinations_refuse(tmp_path):
    record = {"datasetId": DATASET, "asdfObjectKey": f"{PROPOSAL}/{DATASET}/X.asdf", "primaryProposalId": PROPOSAL}
    with pytest.raises(PathTemplateError, match="cannot be used in a path"):
        PathTemplate(str(tmp_path / "{asdf_filename}")).path_for(record, "x.asdf")
    with pytest.raises(PathTemplateError, match="unknown path template key {nope}"):
        PathTemplate(str(tmp_path / "{nope}"))
    assert (
        PathTemplate("~/d/{proposal_id}/{primary_proposal_id}/").folder_for(record)
        == Path.home() / "d" / PROPOSAL / PROPOSAL
    )
