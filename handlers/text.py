"""Forgiving text normalisation: phones send full-width characters, stray spaces and punctuation."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Punctuation a user may put around or after a command word: "绑定：AB12CD", "帮助！", "【后台】".
_EDGE_PUNCT = "。，、；：？！…·.,;:?!~～\"'“”‘’()（）[]【】<>《》「」-—_ "
_SEPARATORS = re.compile(r"[:：,，;；、]+")


def normalise(text: str | None) -> str:
    """NFKC folds full-width letters, digits and spaces to ASCII; whitespace collapses to one space."""
    if not text:
        return ""
    folded = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    # A message of punctuation only ("？") keeps it: it still means something.
    return folded.strip(_EDGE_PUNCT).strip() or folded


def split_command(text: str, word: str) -> str | None:
    """If `text` starts with the command `word`, the rest (separators and spaces stripped), else None.

    "绑定 AB12CD", "绑定AB12CD" and "绑定：ab12cd" all give "ab12cd" for the word "绑定".
    """
    if not text.startswith(word):
        return None
    rest = text[len(word) :]
    return _SEPARATORS.sub(" ", rest).strip().strip(_EDGE_PUNCT).strip()


class NotANumber(ValueError):
    """A command's argument that should have been a notice number ("进度 昨天的")."""


def notice_number(args: str, *words: str) -> int | None:
    """"12", "#12", "第12号", "12号通知" → 12; "" → None (the newest); anything else raises NotANumber.
    `words`: endings the command also allows ("通知")."""
    number = args.strip().lstrip("#＃").removeprefix("第")
    for word in (*words, "号"):
        number = number.removesuffix(word).strip()
    if not number:
        return None
    if not number.isdigit():
        raise NotANumber(args)
    return int(number)


_PUNCTUATION = re.compile(r"[\s,，。.!！~～、:：;；]+")


def flat(text: str) -> str:
    """Without spaces and punctuation: "好的，发吧！" → "好的发吧"."""
    return _PUNCTUATION.sub("", text).lower()


def written_after(content: str, words: tuple[str, ...], fallback: str) -> str:
    """What follows the command word as the user wrote it — full-width punctuation and `19:30` kept —
    for the parts a command stores or parses itself (a note, a time); `fallback` (the command filter's
    arguments) when the raw text does not start with one of the words (e.g. a leading punctuation)."""
    text = content.strip()
    word = next((w for w in sorted(words, key=len, reverse=True) if text.startswith(w)), None)
    return text[len(word):].strip() if word is not None else fallback
