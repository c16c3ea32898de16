"""What a simulated phone raises when the exchange with our service goes wrong."""


class PhoneError(Exception):
    """A simulated phone could not complete an exchange with our service."""


class PhoneReplyError(PhoneError):
    """Our service answered something WeChat would not accept (bad signature, receive id, XML)."""

    status: int | None = None
    raw: str | None = None


class PhoneTimeoutError(PhoneError):
    """Our service did not answer within WeChat's deadline (5 s)."""
