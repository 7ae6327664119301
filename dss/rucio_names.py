"""DSS path <-> Rucio DID name for the `rucio` backend: pure, shared with the archive mirror.

Decision (docs/rucio.md, "DID naming"): a file in the product layout the agents write,
`products/<TYPE>/<product_id><ext>`, is the DID `<scope>:<product_id>`, the same DID the
archive's mirror (`sdc archive rucio sync`) names the product by; the DSS path is kept as
the DID's JSON metadata `dss_path`, which is how listings map a product DID back to its
path. Any other path is the DID named by the path itself when it has a directory
(`logs/run.txt` -> `logs/run.txt`), and `dss/<path>` when it has none or already starts
with `dss/` (`a` -> `dss/a`, `dss/x` -> `dss/dss/x`). Product ids never contain `/` (the
archive's REST routes could not address them), every other name does: the two kinds
never collide, and the mapping is one-to-one.
"""

from __future__ import annotations

import re

from dss.paths import UnsafePath

DSS_PATH_KEY = "dss_path"  # JSON metadata of a product DID: the DSS path it was stored at
OTHER_PREFIX = "dss/"
PRODUCTS_ROOT = "products/"
# The agents' layout (sdc_agents.agent.outputs): products/<TYPE>/<product_id><one suffix>.
_PRODUCT_PATH = re.compile(
    r"^products/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*/(?P<product_id>[A-Za-z0-9_\-]+)(\.[A-Za-z0-9]+)?$"
)
# Rucio's generic schema: a DID name is letters, digits, '/', '.', '-', '_', at most 250 long.
_DID_NAME = re.compile(r"^[/A-Za-z0-9][/A-Za-z0-9.\-_]{0,249}$")


def product_id_of(path: str) -> str | None:
    """The product id when `path` is in the product layout, else None."""
    match = _PRODUCT_PATH.match(path)
    return match["product_id"] if match else None


def did_name(path: str) -> str:
    """The DID name of a (validated) DSS path; UnsafePath when Rucio cannot hold it."""
    name = product_id_of(path)
    if name is None:
        own = "/" in path and not path.startswith(OTHER_PREFIX)
        name = path if own else OTHER_PREFIX + path
    if not _DID_NAME.match(name):
        raise UnsafePath(
            f"{path!r} cannot be a Rucio DID name ({name!r}): use letters, digits, '/', '.', "
            "'-', '_' (at most 250 characters)"
        )
    return name


def is_product_name(name: str) -> bool:
    """Whether a DID name is a product id (no `/`) rather than a named path."""
    return "/" not in name


def path_of_other(name: str) -> str | None:
    """The DSS path of a non-product DID name (None for a product id)."""
    if is_product_name(name):
        return None
    return name.removeprefix(OTHER_PREFIX) if name.startswith(OTHER_PREFIX) else name


def other_name_patterns(prefix: str) -> list[str]:
    """Name prefixes under which the non-product DIDs of paths starting with `prefix` are."""
    if prefix == "":
        return [""]
    patterns = []
    if not prefix.startswith(OTHER_PREFIX):  # paths named as themselves
        patterns.append(prefix)
    if "/" not in prefix or prefix.startswith(OTHER_PREFIX) or OTHER_PREFIX.startswith(prefix):
        patterns.append(OTHER_PREFIX + prefix)  # top-level paths and those under dss/
    return patterns


def may_hold_products(prefix: str) -> bool:
    """Whether paths starting with `prefix` can be in the product layout (`products/`,
    `products/T/`, `products/T/x`; not `products/T/x.fits/`)."""
    if PRODUCTS_ROOT.startswith(prefix):
        return True
    return prefix.startswith(PRODUCTS_ROOT) and prefix.count("/") <= 2


def parent_paths(path: str) -> list[str]:
    """Every directory above `path` as a path (`a/b/c` -> `a`, `a/b`)."""
    return [path[:i] for i, char in enumerate(path) if char == "/"]
