"""Domain exceptions. Each carries a `code` from the contract's error codes."""


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class Conflict(DomainError):
    code = "conflict"


class Gone(DomainError):
    """An invite that expired or was used up (REST 410)."""

    code = "gone"
