"""What an outbox row carries and what a person's reply answers: a subject, named by its kind and id.

Shape (DESIGN.md §4, "a row says what it carries"): every outbox row (`Delivery`) and every reply
(`Engagement`) holds `subject_kind` + `subject_id`, not a foreign key to one feature's table. Why:
- one outbox serves every feature: one due index, one claim query, one dispatcher, the same
  retries, fallbacks, quiet hours and rate limits, whatever the message is about;
- a reply is recorded against the same subject the person was asked about, so "who has not
  answered" is one anti-join for a notice, a meeting or a rating invitation alike;
- each feature keeps its own table (notices now; meetings, invitations, cases, check-ins next) and
  adds one kind here, instead of a nullable column per feature on the outbox or an invented notice.
The price is a foreign key: the feature that owns a subject never deletes it while rows point at it
(nothing deletes notices), and queries join on kind and id together (`of_notice`)."""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement


class SubjectKind(StrEnum):
    notice = "notice"  # 通知 / 任务 (models.notice.Notice)
    inquiry = "inquiry"  # 留言: a resident's message to their community, and its answer (models.inquiry.Inquiry)
    meeting = "meeting"  # 三会一课 / 主题党日 (models.meeting.Meeting): reminders, 参加 / 请假 / 签到
    # A member's 请假 of a meeting (its engagement's id): the request to the secretary and the answer
    # back, one message each per leave however many members of a branch take leave.
    leave = "leave"
    organisation = "organisation"  # an organisation's own state (三会一课 gaps, 静默支部), to its secretaries
    person = "person"  # a member's state (missed meetings, no organisational life), to their secretary


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    id: int

    @classmethod
    def notice(cls, notice_id: int | None) -> "Subject":
        assert notice_id is not None, "a notice is flushed before anything is queued about it"
        return cls(SubjectKind.notice, notice_id)


def about(table: Any, kind: SubjectKind, subject_id: Any) -> ColumnElement[bool]:
    """`table`'s rows about the subject: `subject_id` is an id or a column (a join condition)."""
    return and_(table.subject_kind == kind.value, table.subject_id == subject_id)


def about_any(table: Any, kind: SubjectKind, subject_ids: Any) -> ColumnElement[bool]:
    """`table`'s rows about any of the subjects of one kind."""
    return and_(table.subject_kind == kind.value, table.subject_id.in_(list(subject_ids)))


def of_notice(table: Any, notice_id: Any) -> ColumnElement[bool]:
    return about(table, SubjectKind.notice, notice_id)


def of_notices(table: Any, notice_ids: Any) -> ColumnElement[bool]:
    return about_any(table, SubjectKind.notice, notice_ids)
