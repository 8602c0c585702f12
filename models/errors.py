"""What the domain layer raises when a request cannot be carried out."""


class DomainError(Exception):
    """Base class: `detail` is a sentence for the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """No such record."""


class Conflict(DomainError):
    """The change contradicts stored data: a duplicate key, or a record still referenced."""


class PreconditionFailed(DomainError):
    """The client's version of the record is not the current one."""


class Invalid(DomainError):
    """Values break a domain rule; `errors` maps field name to message.

    Where a field came from (a body, a query string, a header) is for the caller to say.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("The request breaks a rule of the data.")
        self.errors = errors
