"""Tokens from a YAML file of sha256 digests, for a DSS that runs without the archive.

```yaml
tokens:
  - {sha256: "9f86d0...", name: fr-agent, role: agent, site: SDC-FR}
  - {sha256: "60303a...", name: alice, role: reader}
```
`sdc dss hash-token` prints the digest of a token read from stdin.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from dss.tokens import Access, Identity, identity_from_mapping, token_digest


class TokenFileError(ValueError):
    """The token file is missing or malformed (the message names file and entry)."""


class StaticTokenVerifier:
    """Identities keyed by the sha256 of their token; raw tokens are never stored."""

    def __init__(self, identities: dict[str, Identity]) -> None:
        self._identities = identities

    @classmethod
    def from_file(cls, path: Path) -> StaticTokenVerifier:
        """Read and validate the whole file before serving anything."""
        try:
            document = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise TokenFileError(f"{path}: cannot read: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise TokenFileError(f"{path}: malformed YAML: {exc}") from exc
        entries = document.get("tokens") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise TokenFileError(f"{path}: expected a top-level 'tokens:' list")
        identities: dict[str, Identity] = {}
        for index, entry in enumerate(entries):
            where = f"{path}: tokens[{index}]"
            digest = entry.get("sha256") if isinstance(entry, dict) else None
            if not isinstance(digest, str) or len(digest) != 64:
                raise TokenFileError(f"{where}: 'sha256' must be 64 hex digits, quoted")
            try:
                identities[digest.lower()] = identity_from_mapping(entry, where)
            except ValueError as exc:
                raise TokenFileError(str(exc)) from None
        return cls(identities)

    def identify(self, token: str, access: Access) -> Identity | None:
        """The identity whose digest matches, or None."""
        return self._identities.get(token_digest(token))
