"""Signed links to phone pages: a recipient's page of a notice (linked from a template message) and a
secretary's progress page (linked from `进度`). The signature names the notice and the person, so a
link works without a login and cannot be altered to show another notice; progress links expire."""

from itsdangerous import BadSignature, URLSafeTimedSerializer

NOTICE_SALT = "grassroots-notice-page"
PROGRESS_SALT = "grassroots-progress-page"
NOTICE_MAX_AGE = 90 * 86400  # a template message stays in the chat; its link should keep working
PROGRESS_MAX_AGE = 7 * 86400
SIGNIN_SALT = "grassroots-signin-page"
SIGNIN_MAX_AGE = 2 * 86400  # asked for shortly before the meeting; it need not live long
ATTENDANCE_SALT = "grassroots-attendance-page"
ATTENDANCE_MAX_AGE = 7 * 86400


def _signer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def _url(public_url: str, prefix: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/{prefix}/{token}"


def notice_url(public_url: str, secret: str, notice_id: int, person_id: int) -> str:
    return _url(public_url, "n", _signer(secret, NOTICE_SALT).dumps([notice_id, person_id]))


def progress_url(public_url: str, secret: str, notice_id: int, person_id: int) -> str:
    return _url(public_url, "p", _signer(secret, PROGRESS_SALT).dumps([notice_id, person_id]))


def signin_page_url(public_url: str, secret: str, meeting_id: int, person_id: int) -> str:
    """The secretary's sign-in page of a meeting (the rotating code and QR code)."""
    return _url(public_url, "m/signin", _signer(secret, SIGNIN_SALT).dumps([meeting_id, person_id]))


def attendance_page_url(public_url: str, secret: str, meeting_id: int, person_id: int) -> str:
    """The secretary's attendance page of a meeting (linked from `考勤`)."""
    return _url(public_url, "m/attendance", _signer(secret, ATTENDANCE_SALT).dumps([meeting_id, person_id]))


def _read(secret: str, salt: str, token: str, max_age: int) -> tuple[int, int] | None:
    try:
        notice_id, person_id = _signer(secret, salt).loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(notice_id, int) or not isinstance(person_id, int):
        return None
    return notice_id, person_id


def read_notice_token(secret: str, token: str) -> tuple[int, int] | None:
    """(notice id, person id), or None for a forged, altered or expired token."""
    return _read(secret, NOTICE_SALT, token, NOTICE_MAX_AGE)


def read_progress_token(secret: str, token: str) -> tuple[int, int] | None:
    return _read(secret, PROGRESS_SALT, token, PROGRESS_MAX_AGE)


def read_signin_token(secret: str, token: str) -> tuple[int, int] | None:
    """(meeting id, person id) of a sign-in page link, or None."""
    return _read(secret, SIGNIN_SALT, token, SIGNIN_MAX_AGE)


def read_attendance_token(secret: str, token: str) -> tuple[int, int] | None:
    return _read(secret, ATTENDANCE_SALT, token, ATTENDANCE_MAX_AGE)
