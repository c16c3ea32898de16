"""Reading the frame of a received message (models/message_frame.py) back in tests: the text the
sender wrote, without the header (who, what, which number) and the lines on deadline and answering.
A message without the frame (a reminder, a digest) is returned as it is."""

import re

HEADER = re.compile(r"^【(紧急)?(通知|任务) 第\d+号】")
ANSWER_STARTS = ("截止：", "请回复", "收到请回复", "完成后请回复", "回复“下发")


def body(content: str) -> str:
    lines = content.split("\n")
    if not lines or not HEADER.match(lines[0]):
        return content
    lines = lines[1:]
    while lines and lines[-1].startswith(ANSWER_STARTS):
        lines.pop()
    return "\n".join(lines)


def bodies(messages: object) -> list[str]:
    return [body(m.content) for m in messages]  # type: ignore[attr-defined]
