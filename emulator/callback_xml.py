"""Callback XML as WeChat writes it, and parsing of the XML our service answers."""

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml.ElementTree import fromstring

FieldValue = str | int


def cdata(value: str) -> str:
    """Wrap text in CDATA, splitting any "]]>" the way XML requires."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: list[tuple[str, FieldValue]]) -> str:
    """`<xml>` with one child per field: text in CDATA, numbers bare (like CreateTime, MsgId)."""
    parts = ["<xml>"]
    for name, value in fields:
        text = str(value) if isinstance(value, int) else cdata(value)
        parts.append(f"<{name}>{text}</{name}>")
    parts.append("</xml>")
    return "".join(parts)


def _element_value(element: Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = _element_value(child)
        if child.tag in result:
            previous = result[child.tag]
            result[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            result[child.tag] = value
    return result


def parse_xml(text: str) -> dict[str, Any]:
    """The children of the root element as a dict (nested elements as dicts, repeats as lists).

    Raises ValueError when the text is not XML.
    """
    try:
        root = fromstring(text)
    except ParseError as exc:
        raise ValueError(f"不是合法的 XML: {exc}") from exc
    value = _element_value(root)
    return value if isinstance(value, dict) else {}
