"""How a secretary's 批准 / 不批准 names the leave it decides (handlers/leave_decisions.choose)."""

from types import SimpleNamespace
from typing import Any

import pytest

from handlers.leave_decisions import choose


def _pending(name: str, meeting_id: int, leave_id: int) -> Any:
    return SimpleNamespace(member_name=name, meeting=SimpleNamespace(id=meeting_id), leave=SimpleNamespace(id=leave_id))


LI, ZHAO, LI_AGAIN = _pending("李党员", 3, 1), _pending("赵党员", 3, 2), _pending("李党员", 5, 3)


@pytest.mark.parametrize(("pending", "args", "chosen", "note", "asks"), [
    ([LI], "", [1], "", False),
    ([LI], "注意会后补学", [1], "注意会后补学", False),
    ([LI], "李党员", [1], "", False),
    ([LI], "李党员，注意补学", [1], "注意补学", False),
    ([LI, ZHAO], "", [], "", True),
    ([LI, ZHAO], "赵党员 会议重要，请务必参加", [2], "会议重要，请务必参加", False),
    ([LI, ZHAO], "全部", [1, 2], "", False),
    ([LI, ZHAO], "所有", [1, 2], "", False),
    ([LI, ZHAO, LI_AGAIN], "李党员", [], "", True),  # two leaves of his: which meeting?
    ([LI, ZHAO, LI_AGAIN], "5", [3], "", False),
    ([LI, ZHAO, LI_AGAIN], "第5号 李党员", [3], "", False),
    ([LI, ZHAO, LI_AGAIN], "3 李党员 好的", [1], "好的", False),
    ([LI, ZHAO, LI_AGAIN], "3号会议 全部", [1, 2], "", False),
    ([LI, ZHAO], "9", [], "", True),  # no leave of meeting 9
])
def test_the_secretary_names_the_leave(pending: list[Any], args: str, chosen: list[int], note: str,
                                       asks: bool) -> None:
    choice = choose(pending, args)
    assert [p.leave.id for p in choice.leaves] == chosen
    assert choice.note == note
    assert (choice.ask is not None) == asks
