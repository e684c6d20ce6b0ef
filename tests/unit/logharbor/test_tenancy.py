"""One tenant-name rule for the key store and the ui (issue 11 item 6: "a.b" could ingest but got 403)."""

from __future__ import annotations

import pytest

from logharbor.tenancy import valid_tenant
from opensearch.keys import KeyStoreError, check_name
from ui.auth import AuthError, check_tenant


@pytest.mark.parametrize("name", ["acme", "acme.eu", "a-b_c.1", "0team"])
def test_a_tenant_the_key_store_accepts_the_ui_accepts(name: str) -> None:
    assert valid_tenant(name)
    assert check_name("tenant", name) == name
    assert check_tenant(name) == name


@pytest.mark.parametrize("name", ["", "Acme", "a*", "a,b", ".a", "a b", "x" * 64])
def test_refused_everywhere(name: str) -> None:
    assert not valid_tenant(name)
    with pytest.raises(KeyStoreError):
        check_name("tenant", name)
    with pytest.raises(AuthError):
        check_tenant(name)
