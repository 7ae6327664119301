"""The API's short-lived cache of verified tokens."""

from __future__ import annotations

from eas.api.tokens import Principal, TokenCache

AGENT = Principal(name="a", role="agent", site="SDC-FR")


def test_a_verified_token_is_trusted_until_it_expires() -> None:
    cache = TokenCache(seconds=10)
    assert cache.get("sdc_x", now=0) is None
    cache.put("sdc_x", AGENT, now=0)
    assert cache.get("sdc_x", now=9.9) == AGENT
    assert cache.get("sdc_x", now=10.1) is None
    assert cache.get("sdc_other", now=1) is None


def test_zero_seconds_disables_the_cache() -> None:
    cache = TokenCache(seconds=0)
    cache.put("sdc_x", AGENT, now=0)
    assert cache.get("sdc_x", now=0) is None
