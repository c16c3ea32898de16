"""How residents and unit representatives answer a service-rating invitation (服务评价): a pure parser, no
database and no I/O. `parse_rating(text)` tells a clear score 1–5 (`5`, `５分`, `打五分`, `★★★☆☆`, `很满意`,
`2 办事太慢了`) from a change of one (`改 4`, `我想改为五星`), from something that looks like a rating but is
not clear — the bot shows the menu again and never guesses — and from no rating at all (`收到`, `谢谢`, a
留言). Whether a rating is awaited at all, which question the bot asked last, the 30-minute window for a
change and the audit are the caller's: a bare `1` is a score here, and only the caller knows if anyone asked.

Give it the message as written (`Inbound.content`), not `Inbound.text`: normalise() strips the trailing `？`
that makes `5？` a question, and the comment keeps the rater's own punctuation. Full-width digits and letters
are folded with NFKC like normalise() does, character by character, so that the comment is cut from the
message as written.

Levels (EVALUATION.md, the rating rules): 5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意; 差评 is 1–2. The
decisions for words the rules do not name:
- 很 / 非常 / 特别 / 十分 / 太 / 超 before a good word give 5 (很满意, 很好, 很不错, 太棒了); the bare good
  words and 挺 / 蛮 / 比较 before them give 4 (满意, 挺好, 挺满意, 不错, 还不错); 一般, 一般般, 还行, 还可以,
  还好, 凑合, 马马虎虎, 基本满意, 还算满意 give 3; 不满意, 不太满意, 不是很满意, 不好, 有点差, 不怎么样
  give 2; 非常不满意, 很不满意, 很差, 太差了, 极差, 差劲, 一塌糊涂 give 1. The tables below are the rule.
- 好评, 点赞, 👍 and WeChat's [强] alone give 4: 好评 means 4 or 5 (好评率 counts both), and the lower one does
  not inflate what the rater said; the answer names 满意 and `改 5` raises it. With a level beside them
  (五星好评, 好评 非常满意) the level decides.
- 差评, 👎 and WeChat's [弱] alone are ambiguous: 1 or 2 (the issue), and a 差评 starts a verification, so the
  level is asked for, not guessed. With a level (1星差评, 差评 非常不满意) the level decides.
- 满分 is 5: it names the top of the scale. 0分, 零分, 负分, 6分, 10分, 100分, 💯 are ambiguous, never clamped;
  so are more than five stars, hollow stars only (`☆☆☆☆☆`: none, or five typed with the hollow key?) and
  half points (4.5分, 三星半).
- Mixed messages. Rating words followed by 但是 / 不过 / 就是 / 可是 / 只是 (很满意但是太慢了, 还可以吧不过排队久)
  are ambiguous: the rater qualified their own summary, and by how much is theirs to say. After the 但是 the
  words are the conclusion (虽然排队久，但是很满意 is 5). A number is deliberate: `5 但是排队有点久` is 5.
- A number and words must agree: within one level and on the same side (`5 非常满意`, `4 非常满意` is 4,
  `5分 满意`), else ambiguous (`1 非常满意` — maybe the rater thinks 1 is best —, `5 不满意`, `5 差评`). Two
  numbers (3或4, 3-4分, 四五星, `4 5`) or two words of one kind that disagree (满意，非常满意) are ambiguous.
- Negated praise (不是非常满意, 没有很好, 不一般) is ambiguous; 不太满意 / 不是很满意 are fixed words for 2.
- Questions (a ？ anywhere, 吗, 呢, 怎么, 咋, 什么, 几分, 几星, 多少, 如何, 是不是, 好不好, 满不满意…) are
  ambiguous when they touch the rating (打几分, 怎么评价, 5是最好吗) and none otherwise (几点开门). Not
  questions: 没什么意见, 不怎么样, 怎么这么慢, 什么态度, 好着呢 — praise and complaints. 能不能 / 可不可以
  are requests (能不能改成5分 is a change), not questions.
- 好 / 好的 / 行 / 可以 / ok / 收到 / 谢谢 alone are acknowledgements, not ratings: none.
- A refusal (不评了, 不想打分) is none: rating is voluntary (国办发〔2019〕51号), the menu must not come back.
- A digit glued to words is a score only before a rating word (`5非常满意`); before a measure word it is an
  address or an amount (3号窗口, 2楼, 5分钟): none; before anything else (`2办事慢`) it is ambiguous.
- More than MAX_CHARS characters is a letter, not a reply: none (it goes on to 留言).

The comment is what the rater wrote beside the score: after it (`1，窗口没人` → 窗口没人), before it
(`服务很好，5分` → 服务很好), or the whole message when the rating words stand inside it (我对这次服务很满意).
Separators next to the score are dropped, the rater's punctuation inside is kept, and a comment that only
repeats rating words, particles and thanks (`5 非常满意`, `很满意，谢谢`) is empty. Only a score or a change
has a comment: an ambiguous reply is asked again, with its `reason` saying why.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final, Literal

Kind = Literal["score", "change", "ambiguous", "none"]

# What was recognised, so that the answer can say what it counted ("按“很满意”记为 5 分").
DIGIT: Final = "digit"
CHINESE_NUMERAL: Final = "chinese_numeral"
LEVEL_WORD: Final = "level_word"
STARS: Final = "stars"
EMOJI: Final = "emoji"
POINTS: Final = "points"

# Why an "ambiguous" reply is not clear, so that the answer can ask the right question (差评: 1 or 2?).
QUESTION: Final = "question"
RANGE: Final = "range"  # 3或4, 3-4分, 四五星
OUT_OF_RANGE: Final = "out_of_range"  # 0分, 10分, 100分, six stars
BAD_UNCLEAR: Final = "bad_unclear"  # 差评 / 👎 without a level: 1 or 2?
MIXED: Final = "mixed"  # signals that disagree: 1 非常满意, 满意，非常满意
HEDGED: Final = "hedged"  # a level qualified by 但是 / 不过: 还可以吧不过排队久
NEGATED: Final = "negated"  # 不是非常满意
UNCLEAR: Final = "unclear"  # rating talk without a level (评价, 打分), 2办事慢, 4.5分, ☆☆☆
CHANGE: Final = "change"  # 改 / 打错了 without a clear new score

MAX_CHARS: Final = 1000
_SKIP: Final = "skip"  # a number that is no rating at all: a phone number, a year


@dataclass(frozen=True, slots=True)
class RatingReply:
    kind: Kind
    score: int | None = None
    comment: str = ""
    via: str = ""
    reason: str = ""  # set for "ambiguous" only


NOT_A_RATING: Final = RatingReply("none")

# How much a signal weighs: a number is deliberate, a 满意 word is the scale's own, an everyday word less
# so; 好评 / 差评 only say which side; 评价 / 打分 say that the message is about the rating.
_NUMBER, _OFFICIAL, _EVERYDAY, _SIDE, _TOPIC = 3, 2, 1, 0, -1


def _levels(**by_score: tuple[str, ...]) -> dict[str, int]:
    return {word: int(score[1:]) for score, words in by_score.items() for word in words}


_OFFICIAL_WORDS = _levels(
    s5=("非常满意", "很满意", "特别满意", "十分满意", "超级满意", "超满意", "太满意", "相当满意", "极其满意",
        "极为满意", "满意极了", "非常的满意", "很是满意", "百分百满意", "100%满意", "一百个满意", "贼满意",
        "老满意", "好满意", "真满意", "特满意", "万分满意", "再满意不过", "满意得很"),
    s4=("满意", "挺满意", "比较满意", "蛮满意", "还挺满意", "还满意", "较满意"),
    s3=("基本满意", "基本上满意", "还算满意", "基本还满意", "一般满意", "大体满意", "大致满意"),
    s2=("不满意", "不太满意", "不大满意", "不是很满意", "不是太满意", "不怎么满意", "不够满意", "有点不满意",
        "有些不满意", "不甚满意", "不咋满意", "较不满意"),
    s1=("非常不满意", "很不满意", "特别不满意", "十分不满意", "极不满意", "太不满意", "超级不满意", "相当不满意",
        "极其不满意", "极度不满意", "一点都不满意", "一点也不满意", "完全不满意", "根本不满意", "贼不满意",
        "非常的不满意"),
)
_EVERYDAY_WORDS = _levels(
    s5=("非常好", "很好", "特别好", "太好", "十分好", "相当好", "太棒", "非常棒", "很棒", "特别棒", "真棒",
        "棒极了", "好极了", "棒棒的", "棒棒哒", "超赞", "太赞", "很不错", "非常不错", "特别不错", "完美",
        "无可挑剔", "优秀", "很优秀", "非常优秀", "贼好", "贼棒", "老好", "杠杠的", "好得很", "巴适得很",
        "没得说", "没话说", "呱呱叫", "顶呱呱", "再好不过", "好得不得了"),
    s4=("挺好", "挺不错", "还不错", "不错", "蛮好", "蛮不错", "比较好", "满好", "还挺好", "挺棒", "蛮棒", "良好",
        "巴适"),
    s3=("一般", "一般般", "还行", "还可以", "凑合", "还凑合", "马马虎虎", "还好", "过得去", "说得过去", "中规中矩",
        "还算可以", "将就", "不好不坏", "不好也不坏", "中等", "及格", "普普通通"),
    s2=("不好", "不太好", "不怎么样", "不咋样", "不咋地", "不咋的", "不怎么好", "有点差", "比较差", "较差",
        "不太行", "不理想", "不太理想", "不够好", "不是很好", "不是太好", "不大好", "有点不好"),
    s1=("很差", "太差", "极差", "差劲", "非常差", "特别差", "超差", "真差", "好差", "十分差", "相当差", "贼差",
        "差得很", "差死了", "差极了", "很烂", "太烂", "烂透了", "太垃圾", "真垃圾", "很垃圾", "很糟糕",
        "太糟糕", "非常糟糕", "糟糕透了", "一塌糊涂", "差到极点", "差到家了"),
)
# Words that only say which side: (side, via). WeChat's own emoji panel sends [强] / [弱] as text.
_SIDE_WORDS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(("好评", "点赞", "点个赞", "赞"), (1, LEVEL_WORD)),
    **dict.fromkeys(("👍", "[强]", "[強]", "[thumbsup]", "/:strong"), (1, EMOJI)),
    "差评": (-1, LEVEL_WORD),
    **dict.fromkeys(("👎", "[弱]", "[thumbsdown]", "/:weak", "[差劲]"), (-1, EMOJI)),
}
# About the rating, without a level: alone they are ambiguous (the menu answers them).
_TOPIC_WORDS = ("好差评", "评价", "评分", "打分", "分数", "星级", "满意度", "打星", "评星", "好评率", "差评率",
                "几分", "几星", "几颗星", "满不满意", "满意不满意")
# 💯 reads "100 points": out of range, like 100分.
_OUT_WORDS = ("💯",)
# Matched so that the rating words inside them do not count: 不好意思 is "sorry", 一般来说 "usually".
_PLAIN_WORDS = ("不好意思", "不好说", "一般来说", "一般情况", "差不多", "出差", "差点", "不错过")
# A rating word must not be the start of another word: 很好吃, 不好找, 一般都, 还可以再快点, 赞成.
_NOT_BEFORE = {"好": frozenset("意说找办弄奇吃看听玩用像多几久些处人转受友"),
               "一般": frozenset("来情都是人会在要也就可"), "还好": frozenset("有没是及"),
               "还可以": frozenset("再改用去来"), "赞": frozenset("成同助美扬叹"), "不错": frozenset("过")}
_ALL_WORDS = {*_OFFICIAL_WORDS, *_EVERYDAY_WORDS, *_SIDE_WORDS, *_TOPIC_WORDS, *_OUT_WORDS, *_PLAIN_WORDS}
# Longest first: at one place the alternation takes the first that matches (非常不满意 before 不满意).
_WORDS = re.compile("|".join(re.escape(w) for w in sorted(_ALL_WORDS, key=len, reverse=True)))
# Whole messages that are a judgement without a level: 差 (1 or 2?), 不行, 不差 (3 or 4?).
_WHOLE_SIDE = {"差": -1, "不行": -1, "太不行": -1, "很不行": -1}
_WHOLE_UNCLEAR = ("不差", "还不差", "不算差")
_PARTICLES = "了的啊呀哈哦噢吧啦嘛呗哟喔咯呐呢滴"  # 滴: 的 as chat writes it (挺好滴)
_NEGATION = re.compile(r"(?:不|没|没有|不是|并非|并不|未|谈不上|说不上|算不上|称不上|没那么|没有那么|不算)$")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
              "五": 5, "伍": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM_CN = r"[零〇一二两三四五六七八九十百壹贰叁肆伍]{1,3}"
# "我给5分", "打个五星", "就给你们满分": who gives belongs to the score, not to the comment.
_LEAD = r"(?:(?:我|俺)?(?:就|那就|必须|直接|都)?(?:给|打|评|选)(?:你们|您|他|了|个)*\s*)?"
_DIGIT_POINTS = re.compile(
    rf"(?P<lead>{_LEAD})(?<![\d.])(?P<num>\d{{1,3}}(?:\.\d)?)\s*(?:颗|个)?\s*(?:分|星级|星|★|⭐)"
    # 5分钟, 三分之一, 5星期, 3分店: not points.
    r"(?!钟|半钟|之|店|局|行|会|队|配|开|别|享|析|类|期|座|球|级|数|红)(?P<half>半)?"
)
# A Chinese numeral is common inside words (三分天下, 五星红旗): points only before a pause or a few words.
_CN_POINTS = re.compile(
    rf"(?P<lead>{_LEAD})(?P<num>{_NUM_CN})\s*(?:颗|个)?\s*(?:分|星级|星)(?P<half>半)?"
    rf"(?=$|[\W_]|好评|差评|满意|不满意|服务|态度|必须|[{_PARTICLES}])"
)
_FULL_POINTS = re.compile(rf"(?P<lead>{_LEAD})(?P<num>满|负)(?:分|星)(?!钟)")
_STARS = re.compile(r"[★⭐🌟☆✩](?:\s*[★⭐🌟☆✩])*")
_STARS_IN_ORDER = re.compile(r"[★⭐🌟]*[☆✩]*")
_RANGE = re.compile(
    r"(?<![\d.])([1-5一二两三四五])\s*(?:到|至|或者|或是|或|还是|、|/|~|-|—|–|和|跟)\s*([1-5一二两三四五])(?![\d.])"
    r"(?:\s*(?:颗|个)?\s*(?:分|星)(?!钟)|(?=$|[\W_]))"
)
# Words before a bare number: "评分：5", "我选 4", "好的，5".
_NUMBER_LEADS = ("我的评价是", "我的评分是", "我的评价", "我的评分", "评价是", "评分是", "我选择", "我给", "我打",
                 "我评", "我选", "选择", "评价", "评分", "打分", "分数", "给", "打", "评", "选", "回复", "答",
                 "那就", "就", "好的", "嗯嗯", "嗯", "ok", "好", "行", "我")
_LEADS = "|".join(sorted(_NUMBER_LEADS, key=len, reverse=True))
# After words, only the words of rating lead to a number: in "态度很好 5" the 好 is the praise's.
_RATING_LEADS = "|".join(sorted((w for w in _NUMBER_LEADS if w[-1] in "是价分择给打评选"), key=len, reverse=True))
_HEAD = re.compile(rf"^[^\w\-−+]*(?P<lead>(?:{_LEADS})\s*[:：=,，、]?\s*)?(?P<num>\d+(?:\.\d+)?|{_NUM_CN})")
_TAIL = re.compile(r"(?<![\d.])(?P<num>\d{1,3}(?:\.\d)?)[\W_]*$")
_TAIL_LEAD = re.compile(rf"(?:{_RATING_LEADS})\s*[:：=,，、]?\s*$")
_NEGATIVE_NUMBER = re.compile(r"^[^\w]*[-−]\s*\d")
# After a glued digit these make an address or an amount: 3号窗口, 2楼, 5天, 1个人.
_MEASURES = frozenset("号楼个栋幢点月日天年次人位单层室岁元块小分米斤件份张户家周遍趟台条本页毛角组期届名项回样"
                      "种只间套辆句声下时秒倍成折级区排路线口桌把双对瓶袋箱公千万百十亿星颗")
_CONTRAST = re.compile(r"但(?!愿)|不过|可是|就是|只是|然而|可惜|美中不足|唯一")
_QUESTION = re.compile(r"\?|吗|几分|几星|几颗|打几|给几|评几|怎么|咋|什么|如何|多少|呢|是不是|对不对|好不好|"
                       r"行不行|满不满意|满意不满意|要不要|有没有")
# Question words in praise and complaints: 没什么意见, 不怎么样, 怎么这么慢, 什么态度, 好着呢.
_NOT_QUESTION = re.compile(r"没什么|没有什么|不算什么|什么都|什么态度|不怎么|怎么这么|怎么那么|不咋|着呢|的呢|"
                           r"多少有点|多少有些")
_SORRY = r"(?:(?:不好意思|抱歉|对不起|sorry)[\W_]*)?"
_CHANGE = re.compile(
    rf"^[^\w]*{_SORRY}(?:我|俺)?(?:想|要|想要|能不能|可不可以|可以|能|请|麻烦|帮我|麻烦帮我|麻烦你帮我)?(?:把)?"
    r"(?:刚才的|之前的)?(?:评价|评分|分数|打分)?(?:改|修改|更改|改评|重新评价|重新评|重评|重新打分|重新打|重打|"
    r"换成|更正)(?:一下)?(?:评价|评分|分数|打分)?(?:成|为|到)?\s*[:：,，、]?\s*"
)
_MISTAKE = re.compile(
    rf"^[^\w]*{_SORRY}(?:我)?(?:刚才|刚刚|之前|前面|上次)?(?:我)?(?:打|评|选|点|按|输|发)错了?[,，。.!！\s]*"
    r"(?:应该是|应该|应为|是|改成|改为|改|重新评)?\s*[:：]?\s*"
)
_REFUSAL = re.compile(
    r"^[^\w]*(?:我|俺)?(?:就|还是|先|暂时|今天|这次)?(?:不想|不要|不用|不愿意|不愿|不|没空|没时间|懒得|不方便|拒绝)"
    r"(?:再)?(?:参加)?(?:评价|评分|打分|打星|参评|评)"
)
# Around the score: pauses, emoji and a closing particle (5分吧，…; 很满意的！).
_GAP = re.compile(rf"(?:[\W_]|[{_PARTICLES}](?=[\W_]|$))*")
# What a comment may consist of and still say nothing beyond the score: 很满意，谢谢 · 我觉得很满意.
_FILLERS = re.compile(r"谢谢你们|谢谢您|谢谢|感谢|辛苦了|辛苦|总的来说|总体|整体|总之|我觉得|觉得|感觉|我们|"
                      r"还是|本次|这次|这回|真的|确实|一下|你们|必须|收到|好的|非常|特别|十分|真|对|都|就|给|打|评|您|是|很|挺|还|"
                      rf"个|也|算|来|我|俺|嗯|哈|[{_PARTICLES}]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _Signal:
    start: int  # with the words that lead to it ("我给")
    end: int
    rank: int
    value: int | None = None
    via: str = ""
    side: int = 0  # +1 good, -1 bad (好评 / 差评)
    problem: str = ""
    core: int = -1  # where the number itself starts: overlaps are judged on it


_Free = Callable[[int, int], bool]
_Add = Callable[[_Signal], None]


def parse_rating(text: str) -> RatingReply:
    """What a reply to a rating invitation means; see the module's docstring. Never raises."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
        return NOT_A_RATING
    return _parse(text)


@lru_cache(maxsize=4096)
def _parse(raw: str) -> RatingReply:
    """Cached (the result is frozen): after an invitation thousands answer `5` / `满意` within minutes."""
    text, origin = _fold(raw)
    if not text:
        return NOT_A_RATING
    asks = _asks(text)
    if (start := _change_start(text)) is not None:
        rest = text[start:]
        new = _read(rest, origin[start:], raw, at_head=True)
        if new.kind != "none" or not _says_more(rest):
            if asks or new.kind != "score":
                return _ambiguous(QUESTION if asks else CHANGE)
            return replace(new, kind="change")
        # 改进一下, 改天: the verb was not a change of the rating.
    reply = _read(text, origin, raw)
    if asks:
        return _ambiguous(QUESTION) if reply.kind != "none" else NOT_A_RATING
    return reply


def _ambiguous(reason: str) -> RatingReply:
    return RatingReply("ambiguous", reason=reason)


# NFKC keeps traditional characters: the few of the rating words, for relatives typing on a Hong Kong or
# Taiwan phone (非常滿意, 還行). One character for one, so the comment is still cut where it was written.
_TRADITIONAL = str.maketrans("滿還錯讚評價幾嗎麼樣極較勁爛湊壞點顆給謝們這說話強級務態",
                             "满还错赞评价几吗么样极较劲烂凑坏点颗给谢们这说话强级务态")
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me"))


def _dropped(char: str) -> bool:
    # Variation selectors (⭐️), skin tones (👍🏻), joiners and control characters change nothing a rating says.
    return unicodedata.category(char) in _INVISIBLE or "\U0001f3fb" <= char <= "\U0001f3ff"


def _fold(raw: str) -> tuple[str, tuple[int, ...]]:
    """NFKC and lower case, whitespace collapsed to one space, invisible marks dropped; and for each character
    the index of the one it came from in `raw`, to cut the comment as the rater wrote it."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(raw):
        for folded in unicodedata.normalize("NFKC", char):
            if folded.isspace():
                if chars and chars[-1] != " ":
                    chars.append(" ")
                    origin.append(index)
                continue
            if _dropped(folded):
                continue
            for lower in folded.lower().translate(_TRADITIONAL):
                chars.append(lower)
                origin.append(index)
    while chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return "".join(chars), tuple(origin)


def _asks(text: str) -> bool:
    return _QUESTION.search(_NOT_QUESTION.sub(" ", text)) is not None


def _change_start(text: str) -> int | None:
    for pattern in (_CHANGE, _MISTAKE):
        if (match := pattern.match(text)) is not None:
            return match.end()
    return None


def _says_more(rest: str) -> bool:
    """Whether what follows 改 says anything besides "a change" (改一下吗 does not; 改进服务 does)."""
    return _has_words(_FILLERS.sub("", re.sub("评价|评分|分数|打分|一下|吗|么", "", rest)))


def _has_words(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _read(text: str, origin: tuple[int, ...], raw: str, *, at_head: bool = False) -> RatingReply:
    """The rating in `text` (folded), without the question and change handling. `at_head`: only a rating
    that opens the text counts (改成5分 changes; 改改态度吧，太差了 is a complaint)."""
    signals = _signals(text)
    if all(s.rank == _TOPIC for s in signals):
        if _REFUSAL.match(text) or not signals:
            return NOT_A_RATING
        return _ambiguous(UNCLEAR)  # 评价, 我要打分: about the rating, no level
    if problem := next((s.problem for s in signals if s.problem), ""):
        return _ambiguous(problem)
    decider, reason = _decide(signals)
    if decider is None:
        return _ambiguous(reason)
    score = decider.value if decider.value is not None else 4  # 好评 / 👍 alone
    if at_head and _has_words(text[:_grown(text, signals, decider)[0]]):
        return NOT_A_RATING
    if decider.rank < _NUMBER and _hedged(text, signals, decider):
        return _ambiguous(HEDGED)
    return RatingReply("score", score, _comment(text, origin, raw, signals, decider), decider.via)


def _decide(signals: list[_Signal]) -> tuple[_Signal | None, str]:
    """The signal that decides, or why none does: the heaviest, if everything else agrees with it."""
    levelled = [s for s in signals if s.value is not None]
    sides = [s for s in signals if s.rank == _SIDE]
    if not levelled:
        if any(s.side < 0 for s in sides):
            return None, MIXED if any(s.side > 0 for s in sides) else BAD_UNCLEAR
        return sides[0], ""
    top = max(s.rank for s in levelled)
    heaviest = [s for s in levelled if s.rank == top]
    if len({s.value for s in heaviest}) > 1:
        return None, MIXED
    decider = heaviest[0]
    value = decider.value
    assert value is not None
    for other in levelled:
        if other.value is not None and (abs(other.value - value) >= 2 or (other.value - 3) * (value - 3) < 0):
            return None, MIXED
    for side in sides:
        if (side.side > 0 and value < 4) or (side.side < 0 and value > 2):
            return None, MIXED
    return decider, ""


def _hedged(text: str, signals: list[_Signal], decider: _Signal) -> bool:
    """Whether rating words are followed by 但是 / 不过 (outside the rating words: 再好不过 is praise)."""
    masked = list(text)
    for s in signals:
        masked[s.start:s.end] = " " * (s.end - s.start)
    return _CONTRAST.search("".join(masked), decider.end) is not None


def _signals(text: str) -> list[_Signal]:
    found: list[_Signal] = []

    def free(start: int, end: int) -> bool:
        # 评分 / 星级 do not hide a number: 评分5, 五星级.
        return all(end <= s.core or start >= s.end or s.rank == _TOPIC for s in found)

    def add(signal: _Signal) -> None:
        core = signal.core if signal.core >= 0 else signal.start
        found.append(replace(signal, core=core))

    for match in _WORDS.finditer(text):
        word, start, end = match.group(), match.start(), match.end()
        following = text[end:end + 1]
        if word in _PLAIN_WORDS or any(word.endswith(k) and following in v for k, v in _NOT_BEFORE.items()):
            continue
        negated = _NEGATION.search(text[max(0, start - 4):start].rstrip()) is not None
        if word in _OFFICIAL_WORDS or word in _EVERYDAY_WORDS:
            official = word in _OFFICIAL_WORDS
            level = _OFFICIAL_WORDS[word] if official else _EVERYDAY_WORDS[word]
            add(_Signal(start, end, _OFFICIAL if official else _EVERYDAY, level, LEVEL_WORD,
                        problem=NEGATED if negated else ""))
        elif word in _SIDE_WORDS:
            side, via = _SIDE_WORDS[word]
            add(_Signal(start, end, _SIDE, None, via, side, NEGATED if negated else ""))
        elif word in _OUT_WORDS:
            add(_Signal(start, end, _NUMBER, None, EMOJI, problem=OUT_OF_RANGE))
        else:
            add(_Signal(start, end, _TOPIC))
    bare = _PARTICLES + " "
    whole = "".join(c for c in text if c.isalnum()).rstrip(bare)
    if whole in _WHOLE_SIDE:
        add(_Signal(0, len(text), _SIDE, None, LEVEL_WORD, _WHOLE_SIDE[whole]))
    elif whole in _WHOLE_UNCLEAR:
        add(_Signal(0, len(text), _SIDE, None, LEVEL_WORD, problem=UNCLEAR))

    for match in _RANGE.finditer(text):
        if free(match.start(), match.end()):
            problem = RANGE if _value(match.group(1))[0] != _value(match.group(2))[0] else ""
            value = None if problem else _value(match.group(1))[0]
            add(_Signal(match.start(), match.end(), _NUMBER, value, POINTS, problem=problem))
    for pattern in (_DIGIT_POINTS, _CN_POINTS, _FULL_POINTS):
        for match in pattern.finditer(text):
            core = match.start("num")
            if not free(core, match.end()) or (match.group("num") == "十" and text[match.end():][:1].isalnum()):
                continue  # read already; or 十分 as "very" (十分感谢)
            value, problem = (5, "") if match.group("num") == "满" else _value(match.group("num"))
            if match.group("num") == "负":
                value, problem = None, OUT_OF_RANGE
            if "half" in match.groupdict() and match.group("half"):
                value, problem = None, UNCLEAR
            if problem != _SKIP:
                add(_Signal(match.start(), match.end(), _NUMBER, value, POINTS, problem=problem, core=core))
    for match in _STARS.finditer(text):
        if free(match.start(), match.end()):
            run = match.group().replace(" ", "")
            filled = sum(run.count(star) for star in "★⭐🌟")
            if len(run) > 5:
                add(_Signal(match.start(), match.end(), _NUMBER, None, STARS, problem=OUT_OF_RANGE))
            elif filled == 0 or not _STARS_IN_ORDER.fullmatch(run):
                add(_Signal(match.start(), match.end(), _NUMBER, None, STARS, problem=UNCLEAR))
            else:
                add(_Signal(match.start(), match.end(), _NUMBER, filled, STARS))
    if _NEGATIVE_NUMBER.match(text):
        add(_Signal(0, len(text), _NUMBER, None, DIGIT, problem=OUT_OF_RANGE))
    if (head := _HEAD.match(text)) is not None:
        _head_number(text, head, found, free, add)
    if (tail := _TAIL.search(text)) is not None:
        _tail_number(text, tail, found, free, add)
    return sorted(found, key=lambda s: s.start)


def _value(number: str) -> tuple[int | None, str]:
    """A number as written ("5", "5.0", "五", "十", "一百") as a score, or why it is none."""
    if number[0].isdigit():
        whole, _, fraction = number.partition(".")
        if fraction.strip("0"):
            return None, UNCLEAR  # 4.5: between two levels
        if len(whole) > 3:
            return None, _SKIP  # a phone number, a year
        value: int | None = int(whole)
    else:
        value = _chinese_number(number)
        if value is None:
            distinct = {_CN_DIGITS.get(c) for c in number}
            return None, RANGE if len(distinct) > 1 and distinct <= {1, 2, 3, 4, 5} else UNCLEAR
    assert value is not None
    if 1 <= value <= 5:
        return value, ""
    return (None, OUT_OF_RANGE) if value <= 100 else (None, _SKIP)


def _chinese_number(number: str) -> int | None:
    if number in _CN_DIGITS:
        return _CN_DIGITS[number]
    if number in ("百", "一百"):
        return 100
    tens, ten, ones = number.partition("十")
    if not ten:
        return None
    high = _CN_DIGITS.get(tens) if tens else 1
    low = _CN_DIGITS.get(ones) if ones else 0
    return None if high is None or low is None else high * 10 + low


def _starts_word(at: int, found: list[_Signal]) -> bool:
    return any(s.start == at and s.rank in (_OFFICIAL, _EVERYDAY, _SIDE) for s in found)


def _head_number(text: str, head: re.Match[str], found: list[_Signal], free: _Free, add: _Add) -> None:
    number, core, end = head.group("num"), head.start("num"), head.end("num")
    if not free(core, end):
        return
    following = text[end:end + 1]
    digit = number[0].isdigit()
    if following and following.isalnum() and not _starts_word(end, found):
        if not digit or following.isascii() or following in _MEASURES:
            return  # 五一, 3号窗口, 5g: not a rating
        add(_Signal(core, end, _NUMBER, None, DIGIT, problem=UNCLEAR))  # 2办事慢: 2 and a comment, or not?
        return
    value, problem = _value(number)
    if problem != _SKIP:
        start = head.start("lead") if head.group("lead") else core
        add(_Signal(start, end, _NUMBER, value, DIGIT if digit else CHINESE_NUMERAL, problem=problem, core=core))


def _tail_number(text: str, tail: re.Match[str], found: list[_Signal], free: _Free, add: _Add) -> None:
    core, end = tail.start("num"), tail.end("num")
    before = text[:core]
    if not _has_words(before) or not free(core, end):
        return  # the head's, or already read
    lead = _TAIL_LEAD.search(before)
    after_word = any(s.end == core for s in found)
    if not (before[-1:] == " " or not before[-1:].isalnum() or after_word or lead):
        return  # 等了20, 住302: part of the sentence
    value, problem = _value(tail.group("num"))
    if problem == OUT_OF_RANGE and int(tail.group("num").partition(".")[0]) not in (*range(11), 100):
        return  # 等了 30: more likely minutes than a score out of range
    if problem != _SKIP:
        start = lead.start() if lead and lead.group().strip() else core
        add(_Signal(start, end, _NUMBER, value, DIGIT, problem=problem, core=core))


def _comment(text: str, origin: tuple[int, ...], raw: str, signals: list[_Signal], decider: _Signal) -> str:
    """The rater's words beside the score, cut from the message as written."""
    start, end = _grown(text, signals, decider)
    after = _GAP.match(text, end)
    rest_from = after.end() if after else end
    if not _has_words(text[:start]):
        span = (rest_from, len(text))
    elif rest_from >= len(text) and (decider.rank == _NUMBER or not text[start - 1:start].isalnum()):
        stop = start
        while stop > 0 and not text[stop - 1].isalnum():
            stop -= 1
        span = (0, stop)
    else:
        span = (0, len(text))
    if not _says_anything(text, signals, *span):
        return ""
    first, last = origin[span[0]], origin[span[1] - 1] + 1
    while last < len(raw) and _dropped(raw[last]):
        last += 1  # the variation selector of a trailing emoji
    written = raw[first:last] if span[1] < len(text) else raw[first:].rstrip()
    return _CONTROL.sub("", written).strip()


def _grown(text: str, signals: list[_Signal], decider: _Signal) -> tuple[int, int]:
    """The decider with the rating words right next to it: 5分，非常满意，服务周到 → the comment is 服务周到."""
    start, end = decider.start, decider.end
    grown = True
    while grown:
        grown = False
        gap = _GAP.match(text, end)
        reach = gap.end() if gap else end
        back = start
        while back > 0 and not text[back - 1].isalnum():
            back -= 1
        for s in signals:
            # Only rating words that stand as a clause of their own: in 服务很好，5分 the 很好 is the comment's.
            if end <= s.start <= reach and s.end > end and _clause_ends(text, s.end):
                end, grown = s.end, True
            if back <= s.end <= start and s.start < start and (s.start == 0 or not text[s.start - 1].isalnum()):
                start, grown = s.start, True
    return start, end


def _clause_ends(text: str, at: int) -> bool:
    gap = _GAP.match(text, at)
    return at == len(text) or (gap is not None and gap.end() > at)


def _says_anything(text: str, signals: list[_Signal], start: int, end: int) -> bool:
    kept = [text[i] for i in range(start, end) if not any(s.start <= i < s.end for s in signals)]
    return _has_words(_FILLERS.sub("", "".join(kept)))
