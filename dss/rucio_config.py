"""How the system reaches Rucio (the `rucio:` field of `sdc.settings.Settings`).

It lives in `dss/` because both the DSS's `rucio` backend and the archive's Rucio mirror use
it, and `dss` is the one package both may import (see the import-linter contracts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

AuthType = Literal["userpass", "x509", "x509_proxy", "oidc", "gss", "ssh"]
RuleInjection = Literal["immediate", "judge"]


class RucioConfig(BaseModel):
    """The Rucio server, the identity used there, and how sites and surveys map onto Rucio."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    url: str | None = Field(default=None, description="Rucio REST API, e.g. https://rucio:443")
    auth_url: str | None = Field(default=None, description="Auth server; default: url")
    account: str | None = Field(default=None, description="Rucio account acted as")
    auth_type: AuthType = "userpass"
    username: str | None = Field(default=None, description="userpass identity")
    password: SecretStr | None = Field(default=None, description="userpass password")
    ca_cert: Path | None = Field(
        default=None, description="CA bundle or directory for https (default: X509_CERT_DIR)"
    )
    client_cert: Path | None = Field(default=None, description="x509: certificate file")
    client_key: Path | None = Field(default=None, description="x509: key file (mode 400/600)")
    client_proxy: Path | None = Field(default=None, description="x509_proxy: proxy file")
    oidc: dict[str, str | int | bool] = Field(
        default_factory=dict,
        description="oidc: passed to rucio-clients as credentials (oidc_scope, oidc_audience, "
        "oidc_issuer, oidc_auto, oidc_username, oidc_password, oidc_polling, "
        "oidc_refresh_lifetime)",
    )
    vo: str | None = Field(default=None, description="Multi-VO servers only")
    client_config: Path | None = Field(
        default=None,
        description="The rucio.cfg rucio-clients reads for what sdc does not pass it (its "
        "storage-protocol settings); default: $RUCIO_CONFIG, else the rucio.cfg rucio-clients "
        "finds itself, else a neutral client-only file. Never a connection setting.",
    )
    default_scope: str | None = Field(
        default=None, description="Scope of DIDs whose survey has no entry in survey_scopes"
    )
    survey_scopes: dict[str, str] = Field(
        default_factory=dict, description="Survey name -> Rucio scope"
    )
    site_rses: dict[str, str] = Field(
        default_factory=dict, description="SDC name -> the RSE that is its storage"
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per HTTP request")
    request_retries: int = Field(
        default=1, ge=0, description="Retries of a request that failed to connect"
    )
    write_lanes: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Bulk write requests a sync or a publish keeps in flight at once "
        "(Rucio's server works on them in parallel; more than its worker count gains nothing)",
    )
    rule_injection: RuleInjection = Field(
        default="immediate",
        description="immediate: Rucio applies each new rule when it is created (locks, "
        "dataset locks; Rucio's default); judge: Rucio stores it in state INJECT and its "
        "judge-injector daemon applies it (RSE expression, quota and duplicates are still "
        "checked at creation; ~7x fewer statements per rule)",
    )

    def scope_of(self, survey: str | None = None) -> str:
        """The scope of a survey's DIDs; ValueError naming the setting when there is none."""
        if survey is not None and survey in self.survey_scopes:
            return self.survey_scopes[survey]
        if self.default_scope:
            return self.default_scope
        which = f"survey {survey!r}" if survey else "DIDs without a survey"
        raise ValueError(
            f"no Rucio scope for {which}: set rucio.survey_scopes or rucio.default_scope"
        )

    def rse_of(self, site: str) -> str:
        """The RSE that is `site`'s storage; ValueError naming the setting when unmapped."""
        try:
            return self.site_rses[site]
        except KeyError:
            raise ValueError(
                f"no RSE for site {site}: add it to rucio.site_rses "
                f'(e.g. SDC_RUCIO__SITE_RSES=\'{{"{site}": "{site}_DISK"}}\')'
            ) from None
