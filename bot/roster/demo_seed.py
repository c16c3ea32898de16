"""The demo roster (`grassroots demo`): one district of a city, seeded through the same import as a real
roster file, so the demo exercises the import and seeding twice changes nothing.

The demo page can show `demo_personas()`: a handful of notable people with their phone numbers (the
page looks the rest, such as an invite code, up in the database by phone)."""

import random
from dataclasses import dataclass

from bot.db import SessionFactory
from bot.roster.importer import import_rows
from bot.roster.report import ImportReport

SEED = 20240701  # fixed: the same names and phones on every machine

ORGS = [  # 编码, 名称, 层级, 上级编码
    ("M01", "示范市", "市", ""),
    ("D01", "示范区", "区", "M01"),
    ("D01JG", "示范区机关党支部", "党支部", "D01"),
    ("S01", "朝阳街道", "街道", "D01"),
    ("S01JG", "朝阳街道机关党支部", "党支部", "S01"),
    ("C01", "阳光社区", "社区", "S01"),
    ("C01B1", "阳光社区第一党支部", "党支部", "C01"),
    ("C01B1G1", "阳光社区第一党支部第一党小组", "党小组", "C01B1"),
    ("C01B1G2", "阳光社区第一党支部第二党小组", "党小组", "C01B1"),
    ("C01B2", "阳光社区第二党支部", "党支部", "C01"),
    ("C02", "和平社区", "社区", "S01"),
    ("C02B1", "和平社区党支部", "党支部", "C02"),
    ("S02", "青山街道", "街道", "D01"),
    ("S02JG", "青山街道机关党支部", "党支部", "S02"),
    ("C03", "幸福社区", "社区", "S02"),
    ("C03B1", "幸福社区第一党支部", "党支部", "C03"),
    ("C03B1G1", "幸福社区第一党支部第一党小组", "党小组", "C03B1"),
    ("C03B2", "幸福社区第二党支部", "党支部", "C03"),
    ("C04", "翠湖社区", "社区", "S02"),
    ("C04B1", "翠湖社区党支部", "党支部", "C04"),
    ("C04B1G1", "翠湖社区党支部第一党小组", "党小组", "C04B1"),
    ("U01", "朝阳小学", "驻区单位", "C01"),
    ("U02", "示范区人民医院", "驻区单位", "S02"),
    ("U03", "青山供电所", "驻区单位", "C04"),
]

# 所属组织, 职务, 标记 (流动/在职/离退休), 参加组织, 报到社区, has a WeCom account, persona (or "")
MEMBERS = [
    ("D01JG", "书记@D01", "", "", "", True, "示范区书记"),
    ("D01JG", "副书记@D01", "", "", "", True, ""),
    ("D01JG", "书记", "", "", "", True, ""),
    ("S01JG", "书记@S01", "", "", "", True, "朝阳街道书记"),
    ("S01JG", "书记", "", "", "", True, ""),
    ("S01JG", "管理员@S01", "", "", "", True, "朝阳街道管理员"),
    ("S02JG", "书记@S02", "", "", "", True, ""),
    ("S02JG", "书记", "", "", "", True, ""),
    ("C01B1", "书记@C01", "", "", "", True, "阳光社区书记"),
    ("C01B1", "书记", "", "", "", False, "阳光社区第一党支部书记"),
    ("C01B2", "书记、副书记@C01", "", "", "", False, ""),
    ("C02B1", "书记@C02", "", "", "", True, ""),
    ("C02B1", "书记", "", "", "", False, ""),
    ("C03B1", "书记@C03", "", "", "", True, ""),
    ("C03B1", "书记", "", "", "", False, ""),
    ("C03B1", "副书记", "", "", "", False, ""),
    ("C03B2", "书记", "", "", "", False, ""),
    ("C04B1", "书记@C04", "", "", "", True, ""),
    ("C04B1", "书记", "", "", "", False, ""),
    ("C01B1G1", "", "", "", "", True, ""),
    ("C01B1G1", "", "离退休", "", "", False, "离退休党员"),
    ("C01B1G2", "", "", "", "", True, ""),
    ("C01B1G2", "", "离退休", "", "", False, ""),
    ("C01B2", "", "流动", "C03B2", "", False, "流动党员"),
    ("C01B2", "", "", "", "", True, ""),
    ("C02B1", "", "离退休", "", "", False, ""),
    ("C02B1", "", "流动", "C04B1", "", True, ""),
    ("C02B1", "", "", "", "", False, ""),
    ("C03B1G1", "", "", "", "", True, ""),
    ("C03B1G1", "", "离退休", "C03B2", "", False, ""),
    ("C03B2", "", "", "", "", True, ""),
    ("C03B2", "", "流动", "C01B1", "", False, ""),
    ("C04B1G1", "", "", "", "", True, ""),
    ("C04B1G1", "", "离退休", "", "", False, ""),
    ("C04B1", "", "", "", "", False, "普通党员"),
    ("D01JG", "", "在职", "C01B1", "C01", True, "在职党员"),
    ("S01JG", "", "在职", "", "C02", True, ""),
    ("S02JG", "", "在职", "C03B1", "C03", True, ""),
    ("S02JG", "", "在职", "", "C04", False, ""),
    ("C01B1", "", "", "", "", False, ""),
]
RESIDENTS = {"C01": 8, "C02": 8, "C03": 7, "C04": 7}
UNIT_REPS = [("U01", "C01", False, "驻区单位代表"), ("U02", "S02", True, ""), ("U03", "C04", False, "")]

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
            ("胡", "hu"), ("朱", "zhu"), ("高", "gao"), ("林", "lin"), ("何", "he"), ("郭", "guo"),
            ("马", "ma"), ("罗", "luo")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"),
         ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
         ("艳", "yan"), ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"),
         ("秀兰", "xiulan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"),
         ("建华", "jianhua"), ("志强", "zhiqiang"), ("海燕", "haiyan"), ("晓东", "xiaodong"),
         ("丽华", "lihua"), ("国庆", "guoqing"), ("文博", "wenbo")]


@dataclass(frozen=True, slots=True)
class DemoPersona:
    name: str
    phone: str
    role: str  # "示范区书记", "流动党员", ...
    work_userid: str  # "" for people who bind on the Official Account with their invite code

    @property
    def channel(self) -> str:
        return "企业微信" if self.work_userid else "公众号"


class _People:
    """Unique realistic names, phones and pinyin userids from one seeded generator."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.names: set[str] = set()
        self.phones: set[str] = set()
        self.userids: set[str] = set()

    def person(self, prefixes: tuple[str, ...]) -> tuple[str, str, str]:
        while True:
            (surname, s_py), (given, g_py) = self.rng.choice(SURNAMES), self.rng.choice(GIVEN)
            if surname + given not in self.names:
                break
        self.names.add(surname + given)
        while (phone := self.rng.choice(prefixes) + f"{self.rng.randrange(10**8):08d}") in self.phones:
            pass
        self.phones.add(phone)
        userid, n = s_py + g_py, 1
        while userid in self.userids:
            n += 1
            userid = f"{s_py}{g_py}{n}"
        return surname + given, phone, userid


def _build() -> tuple[list[dict], list[dict], list[DemoPersona]]:
    gen = _People()
    # Each community has a WeCom group robot: members without a bound WeChat are @-mentioned there.
    orgs = [
        {"编码": c, "名称": n, "层级": lvl, "上级编码": p, "群机器人": f"demo-robot-{c}" if lvl == "社区" else ""}
        for c, n, lvl, p in ORGS
    ]
    people: list[dict] = []
    personas: list[DemoPersona] = []

    def add(kind: str, primary: str, has_wecom: bool, persona: str, **extra: str) -> None:
        name, phone, userid = gen.person(("139", "138", "135", "186") if kind == "党员" else ("137", "158", "136"))
        userid = userid if has_wecom else ""
        people.append({"姓名": name, "手机": phone, "类别": kind, "所属组织": primary, "企业微信账号": userid, **extra})
        if persona:
            personas.append(DemoPersona(name, phone, persona, userid))

    for primary, roles, flag, participating, report, wecom, persona in MEMBERS:
        add("党员", primary, wecom, persona, 职务=roles, 参加组织=participating, 报到社区=report,
            流动党员="是" if flag == "流动" else "否", 在职党员="是" if flag == "在职" else "否",
            离退休="是" if flag == "离退休" else "否")
    for community, count in RESIDENTS.items():
        for i in range(count):
            add("居民", community, False, "阳光社区居民" if community == "C01" and i == 0 else "")
    for unit, org, wecom, persona in UNIT_REPS:
        add("驻区单位代表", org, wecom, persona, 单位=unit)
    return orgs, people, personas


def demo_roster() -> tuple[list[dict], list[dict]]:
    """Organisation rows and person rows, keyed by the import headers."""
    orgs, people, _ = _build()
    return orgs, people


def demo_personas() -> list[DemoPersona]:
    return _build()[2]


async def seed_demo(*, session_factory: SessionFactory) -> ImportReport:
    orgs, people = demo_roster()
    return await import_rows(session_factory=session_factory, org_rows=orgs, person_rows=people, source="demo")
