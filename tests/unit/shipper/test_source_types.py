"""The table of source types: each row's config names its own ``type``, and the ``sources:``
union of the config file accepts exactly the table's types."""

from __future__ import annotations

import pytest

from shipper.config import parse_config
from shipper.source_types import SOURCE_TYPES


@pytest.mark.parametrize("name", sorted(SOURCE_TYPES))
def test_row_names_its_own_type(name: str) -> None:
    assert SOURCE_TYPES[name].config.model_fields["type"].annotation.__args__ == (name,)


def test_config_union_is_the_table(tmp_path) -> None:
    base = {"gateway": {"url": "http://127.0.0.1:1", "api_key": "k"}, "data_dir": str(tmp_path)}
    with pytest.raises(Exception) as info:
        parse_config({**base, "sources": [{"type": "nope"}]})
    for name in SOURCE_TYPES:
        assert name in str(info.value)
    cfg = parse_config({**base, "sources": [{"type": "stdin"}, {"type": "tcp", "listen": "127.0.0.1:0"}]})
    assert [type(s) for s in cfg.sources] == [SOURCE_TYPES["stdin"].config, SOURCE_TYPES["tcp"].config]
