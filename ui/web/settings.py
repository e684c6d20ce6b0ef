"""Settings of the web dashboard (``web`` section, env prefix ``LOGHARBOR_WEB_``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class WebSettings(SectionSettings):
    """Session lifetime and signing secret of the dashboard."""

    section: ClassVar[str] = "web"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_WEB_", extra="forbid")

    # Signs session cookies and CSRF tokens. Empty: a random secret is generated once and
    # stored in OpenSearch (index .logharbor-ui-secrets) so every ui process behind a load
    # balancer honours the same sessions and a restart does not sign everyone out.
    session_secret: str = ""
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    # Secure cookies: None = when the request arrived over https (or a proxy said so).
    cookie_secure: bool | None = None
    # How often a session re-checks that its API key is still active (revocation, expiry).
    key_recheck_s: float = Field(default=5.0, gt=0)
    # The dashboard's public origin as browsers see it (e.g. https://logs.example.com): the CSP's
    # connect-src names its WebSocket origin and cookie-authenticated cross-origin checks use it.
    # Empty: connect-src 'self' only, and the Origin check compares with the request's Host.
    public_origin: str = Field(default="", pattern=r"^(https?://[A-Za-z0-9.\-\[\]:]+)?$")
    page_size: int = Field(default=50, ge=1, le=1000)
    context_events: int = Field(default=10, ge=0, le=100)
