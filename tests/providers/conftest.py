"""Fixtures for the provider tests (helpers and the providers' descriptions are in helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def srv(_server):
    """The test module's fake server (its ``_server`` fixture, see helpers.server_fixture),
    with no reply scripted or request recorded by another test."""
    _server.replies.clear()
    _server.requests.clear()
    yield _server
    _server.replies.clear()
