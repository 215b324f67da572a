"""The SPEC-0214 key catalogue read from its JSON cache equals the one read from the YAML."""

from __future__ import annotations

import dataclasses


def test_cached_catalogue_equals_the_yaml_one(tmp_path, monkeypatch):
    from dkist_widgets.core import key_catalogue as kc

    monkeypatch.setenv("DKIST_WIDGETS_CACHE_DIR", str(tmp_path))
    kc.key_catalogue.cache_clear()
    try:
        from_yaml = kc.key_catalogue()
        written = list(tmp_path.glob("spec214-keys-*.json"))
        assert len(written) == 1 and kc.catalogue_problem() == ""
        kc.key_catalogue.cache_clear()
        from_cache = kc.key_catalogue()
        assert from_cache["exact"] == from_yaml["exact"] and len(from_yaml["exact"]) > 300
        assert [(r.pattern, dataclasses.astuple(i)) for r, i in from_cache["patterns"]] == [
            (r.pattern, dataclasses.astuple(i)) for r, i in from_yaml["patterns"]
        ]
        assert kc.describe_key("DINDEX4").pattern == "DINDEX<k>" and kc.describe_key("ATMOS_R0").description
        # a damaged cache is ignored and rewritten
        written[0].write_text("{not json", encoding="utf-8")
        kc.key_catalogue.cache_clear()
        assert kc.key_catalogue()["exact"] == from_yaml["exact"]
    finally:
        kc.key_catalogue.cache_clear()
