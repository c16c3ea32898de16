"""Signed links to phone pages: a recipient's page of a notice (linked from a template message) and a
secretary's progress page (linked from `进度`). The signature names the notice and the person, so a
link works without a login and cannot be altered to show another notice; progress links expire."""

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

NOTICE_SALT = "grassroots-notice-page"
PROGRESS_SALT = "grassroots-progress-page"
NOTICE_MAX_AGE = 90 * 86400  # a template message stays in the chat; its link should keep working
PROGRESS_MAX_AGE = 7 * 86400
SIGNIN_SALT = "grassroots-signin-page"
SIGNIN_MAX_AGE = 2 * 86400  # asked for shortly before the meeting; it need not live long
ATTENDANCE_SALT = "grassroots-attendance-page"
ATTENDANCE_MAX_AGE = 7 * 86400
RECORD_SALT = "grassroots-record-page"
RECORD_MAX_AGE = 30 * 86400
LEDGER_SALT = "grassroots-ledger"
LEDGER_MAX_AGE = 7 * 86400
COMPLIANCE_SALT = "grassroots-compliance-page"
COMPLIANCE_MAX_AGE = 7 * 86400


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


def record_page_url(public_url: str, secret: str, meeting_id: int, person_id: int) -> str:
    """A meeting's printable record (会议记录), for the secretary who recorded it or asked for it."""
    return _url(public_url, "m/record", _signer(secret, RECORD_SALT).dumps([meeting_id, person_id]))


def ledger_url(public_url: str, secret: str, org_id: int, person_id: int, year: int) -> str:
    """The yearly 三会一课台账 of an organisation as a spreadsheet."""
    return _url(public_url, "m/ledger", _signer(secret, LEDGER_SALT).dumps([org_id, person_id, year])) + ".xlsx"


def compliance_url(public_url: str, secret: str, org_id: int, person_id: int, period: str) -> str:
    """The phone page of an organisation's 三会一课 compliance over a period (`合规`)."""
    return _url(public_url, "m/compliance", _signer(secret, COMPLIANCE_SALT).dumps([org_id, person_id, period]))


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


# A calendar app keeps the feed's address for months and cannot be sent a new one: this link does not
# expire (URLSafeSerializer, not the timed one); the salt keeps it from opening any other page.
CALENDAR_SALT = "grassroots-calendar-feed"


def calendar_url(public_url: str, secret: str, person_id: int) -> str:
    """The member's private calendar feed (linked from `日程`)."""
    token = URLSafeSerializer(secret, salt=CALENDAR_SALT).dumps(person_id)
    return _url(public_url, "cal", f"{token}.ics")


def read_calendar_token(secret: str, token: str) -> int | None:
    """The person id of a calendar feed link, or None for a forged or altered token."""
    try:
        person_id = URLSafeSerializer(secret, salt=CALENDAR_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return person_id if type(person_id) is int else None


def read_record_token(secret: str, token: str) -> tuple[int, int] | None:
    return _read(secret, RECORD_SALT, token, RECORD_MAX_AGE)


def read_ledger_token(secret: str, token: str) -> tuple[int, int, int] | None:
    """(organisation id, person id, year), or None."""
    try:
        org_id, person_id, year = _signer(secret, LEDGER_SALT).loads(token, max_age=LEDGER_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return None
    if not all(isinstance(v, int) for v in (org_id, person_id, year)):
        return None
    return org_id, person_id, year


def read_compliance_token(secret: str, token: str) -> tuple[int, int, str] | None:
    """(organisation id, person id, period label), or None."""
    try:
        org_id, person_id, period = _signer(secret, COMPLIANCE_SALT).loads(token, max_age=COMPLIANCE_MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(org_id, int) and isinstance(person_id, int) and isinstance(period, str)):
        return None
    return org_id, person_id, period
