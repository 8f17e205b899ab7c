"""Names of the dependencies handlers ask for (provided in app.py)."""

from typing import TypeAlias

from litestar.di import NamedDependency

from application.service import ChatService

Service: TypeAlias = NamedDependency[ChatService]
"""The application service."""

Me: TypeAlias = NamedDependency[str]
"""The authenticated caller's user id (401 without a valid bearer token)."""
