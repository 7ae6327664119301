"""The demo's service URLs: which database URLs it accepts, how it names them."""

from __future__ import annotations

import pytest

from sdc.demo.services import ServiceError, check_broker, describe, normalise_database_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg2://u@h:5432/db"),
        ("postgres://u:pw@h/db?options=-csearch_path%3Dx",
         "postgresql+psycopg2://u:pw@h/db?options=-csearch_path%3Dx"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("sqlite:////tmp/archive.sqlite", "sqlite:////tmp/archive.sqlite"),
    ],
)  # fmt: skip
def test_database_urls_get_the_installed_driver(given: str, used: str) -> None:
    assert normalise_database_url(given) == used


@pytest.mark.parametrize(
    ("given", "complaint"),
    [("mysql://u@h/db", "not 'mysql'"), ("archive.sqlite", "not a database URL")],
)
def test_other_databases_are_refused_by_name(given: str, complaint: str) -> None:
    with pytest.raises(ServiceError, match=complaint):
        normalise_database_url(given)


def test_broker_urls_must_name_a_broker() -> None:
    with pytest.raises(ServiceError, match="amqp://... .RabbitMQ. or redis://"):
        check_broker("http://127.0.0.1:5672")


def test_the_description_masks_passwords() -> None:
    line = describe("postgresql+psycopg2://u:secret@h/db", "celery", "amqp://g:secret@h:5672//")
    assert "secret" not in line and "Celery via amqp://g:**@h:5672//" in line
    assert "Celery via redis://h:6379/13 " in describe("sqlite://", "celery", "redis://h:6379/13")
    assert describe("sqlite:///a.sqlite", "http", "amqp://h//").endswith("pull over HTTP")
