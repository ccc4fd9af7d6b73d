"""One error family for the domain; routes never build error pages by hand."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user should read: a message (already translated) and an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, status_code: int | None = None, code: str | None = None,
                 field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        if code is not None:
            self.code = code
        self.field_errors = field_errors or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class ValidationFailed(DomainError):
    """Bad input: field_errors maps a form field to the message shown beside it."""

    status_code = 422
    code = "validation_failed"


class TooManyAttempts(DomainError):
    """Refused for now: retry_after says how many seconds to wait (sent as Retry-After)."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
