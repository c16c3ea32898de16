"""Template messages as WeChat has them since 2023: a template from the library has a title and
keywords, each with a type that limits its value — `thing` at most 20 characters, `time` a date and
time, `phrase` at most 5 characters, `character_string` at most 32, `number` digits. A send whose
value breaks its keyword's rule is refused with 47003, like WeChat; the phone shows the card with
the keywords' names."""

import re
from dataclasses import dataclass

# A `time`: 24-hour, with or without a date ("15:01", "2019年10月1日 15:01"), or a span joined by "~".
_DATE = r"(\d{4}年)?\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2}"
_CLOCK = r"\d{1,2}:\d{2}(:\d{2})?"
_POINT = rf"(({_DATE})( ?{_CLOCK})?|{_CLOCK})"
TIME = re.compile(rf"^{_POINT}(~{_POINT})?$")
LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "number": 32}


@dataclass(frozen=True, slots=True)
class Template:
    title: str
    keywords: tuple[tuple[str, str], ...]  # (key, name shown on the card), in card order

    def names(self) -> dict[str, str]:
        return dict(self.keywords)


# The notice template of our demo account: 工作通知 of the 政务/党建 category.
WORK_NOTICE = Template("工作通知", (
    ("thing1", "通知标题"), ("thing2", "发布单位"), ("time3", "发布时间"), ("time4", "截止时间"),
    ("thing5", "回复方式"),
))


def keyword_type(key: str) -> str:
    return key.rstrip("0123456789")


def invalid_value(key: str, value: str) -> str | None:
    """Why WeChat would refuse this keyword's value (errmsg of 47003), or None."""
    kind = keyword_type(key)
    if kind == "time":
        return None if TIME.match(value.strip()) else f"argument invalid! data.{key}.value invalid"
    limit = LIMITS.get(kind)
    if limit is not None and len(value) > limit:
        return f"argument invalid! data.{key}.value exceeds length limit"
    if kind == "number" and not value.replace(".", "", 1).isdigit():
        return f"argument invalid! data.{key}.value invalid"
    return None


def card_text(template: Template | None, values: dict[str, str], url: str | None) -> str:
    """The card as the phone shows it: the title, each keyword's name and value, and 详情."""
    parts = card(template, values, url)
    lines = [str(parts["title"])] if template is not None else []
    lines += [f"{name}：{value}" for name, value in parts["fields"]]  # type: ignore[attr-defined]
    if url:
        lines.append(f"详情 › {url}")
    return "\n".join(lines)


def card(template: Template | None, values: dict[str, str], url: str | None) -> dict[str, object]:
    """The card's parts for a page that draws it: title, (name, value) rows, the link."""
    names = template.names() if template is not None else {}
    order = [k for k, _ in template.keywords] if template is not None else []
    keys = [*[k for k in order if k in values], *[k for k in values if k not in order]]
    return {"title": template.title if template is not None else "模板消息",
            "fields": [[names.get(k, k), values[k]] for k in keys], "url": url}
