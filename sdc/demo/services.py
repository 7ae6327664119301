"""What the demo needs to know about the real services it may be pointed at: the archive
database URL it accepts and the Celery broker it publishes to, checked before anything starts."""

from __future__ import annotations

from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url
from sqlalchemy.engine import make_url

from eas.db import archive_database_url

BROKER_SCHEMES = ("amqp", "pyamqp", "redis", "rediss")


class ServiceError(ValueError):
    """A service URL the demo cannot use, or a service it cannot reach."""


class ServiceUnreachable(ServiceError):
    """A usable URL whose service did not answer: an error (exit 1), not a usage one."""


def normalise_database_url(url: str) -> str:
    """`url` with the installed driver named: `postgresql://` and `postgres://` become
    `postgresql+psycopg2://` (SQLAlchemy would pick psycopg 3, which is not installed)."""
    try:
        return archive_database_url(url)
    except ValueError as exc:
        raise ServiceError(f"--database-url: {exc}") from exc


def describe(database_url: str, transport: str, broker_url: str) -> str:
    """One line naming the archive database and the dispatch, passwords masked."""
    database = make_url(database_url).render_as_string(hide_password=True)
    if transport != "celery":
        return f"archive: {database}; dispatch: agents pull over HTTP"
    broker = maybe_sanitize_url(broker_url)
    return f"archive: {database}; dispatch: Celery via {broker} (a queue site.<SDC> per site)"


def check_broker(url: str, timeout: float = 5.0) -> None:
    """Connect to the Celery broker once; ServiceError names it when that fails."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in BROKER_SCHEMES:
        shown = maybe_sanitize_url(url)
        raise ServiceError(
            f"--broker-url {shown!r}: expected amqp://... (RabbitMQ) or redis://... (Redis)"
        )
    connection = Connection(url, connect_timeout=timeout)
    try:
        connection.ensure_connection(max_retries=1, timeout=timeout)
    except (OSError, OperationalError, *connection.connection_errors) as exc:
        # the URL may carry the broker's password: never print it
        raise ServiceUnreachable(
            f"cannot reach the Celery broker at {maybe_sanitize_url(url)}: {exc}"
        ) from exc
    finally:
        connection.release()
