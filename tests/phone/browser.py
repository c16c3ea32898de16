"""A phone in a real browser: Debian's Chromium driven by Playwright at an iPhone-sized viewport, with
touch. Helpers type and tap as a person does and read what the page shows; every screen a test
names is kept as a screenshot (GRASSROOTS_SCREENSHOTS, default var/screenshots) for review."""

import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, expect

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("GRASSROOTS_SCREENSHOTS", "var/screenshots"))
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
WAIT_MS = 15_000


async def shot(page: Page, name: str) -> Path:
    """Playwright creates the folder."""
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path))
    return path


class Chat:
    """The demo's chat page as one persona sees it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.bot = page.locator("#messages .row.bot .stack")
        # The passive replies: messages the bot pushed through the API carry a label (应用消息, 模板消息).
        self.replies = page.locator("#messages .row.bot .stack:not(:has(.label))")

    async def open_persona(self, persona_id: str) -> None:
        await self.page.locator(f'button.card[data-persona="{persona_id}"]').tap()
        await expect(self.page.locator("#chat")).to_be_visible()

    async def back(self) -> None:
        await self.page.locator("#back").tap()
        await expect(self.page.locator("#picker")).to_be_visible()

    async def say(self, text: str) -> str:
        """Types `text`, taps 发送 and returns the bot's answer (the passive reply)."""
        before = await self.replies.count()
        await self.page.locator("#text").fill(text)
        await self.page.locator("#send").tap()
        return await self.next_from_bot(before)

    async def tap_quick(self, label: str) -> str:
        before = await self.replies.count()
        await self.page.locator("#quick button", has_text=re.compile(f"^{re.escape(label)}$")).tap()
        return await self.next_from_bot(before)

    async def next_from_bot(self, before: int) -> str:
        """The first passive reply after the `before` ones that is not the typing dots."""
        await expect(self.replies.nth(before).locator(".bubble:not(.typing)")).to_be_visible(timeout=WAIT_MS)
        return await self.replies.nth(before).inner_text()

    async def wait_for_bot(self, contains: str) -> Locator:
        """A message from the bot containing `contains` (one pushed through the API arrives by the poll)."""
        found = self.bot.filter(has_text=contains).last
        await expect(found).to_be_visible(timeout=WAIT_MS)
        return found


# Checks of what a person can see and tap, run in the page: tap targets (WCAG 2.5.5's 44 px; links
# inside a sentence are exempt, as there) and text contrast (WCAG AA: 4.5:1, 3:1 for large text).
_AUDIT = """
() => {
  const visible = (e) => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
  const name = (e) => (e.id ? "#" + e.id : e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))
    + " “" + (e.innerText || e.value || e.getAttribute("aria-label") || "").trim().slice(0, 20) + "”";
  const small = [];
  for (const e of document.querySelectorAll("button, a, input, textarea, select")) {
    if (!visible(e) || e.closest(".bubble, .text, .answer, p.muted")) continue;
    const r = e.getBoundingClientRect();
    if (r.height < 44 || r.width < 44) small.push(name(e) + " " + Math.round(r.width) + "×" + Math.round(r.height));
  }
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (e) => { for (let n = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor); if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3); }
    return [255, 255, 255]; };
  const faint = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const e = t.parentElement;
    if (!t.textContent.trim() || seen.has(e) || !visible(e)) continue;
    seen.add(e);
    const s = getComputedStyle(e);
    const a = lum(rgb(s.color)), b = lum(background(e));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(s.fontSize), bold = Number(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) faint.push(name(e) + " " + ratio.toFixed(2) + ":1");
  }
  return {small, faint};
}
"""


async def audit(page: Page) -> dict[str, list[str]]:
    """What is too small to tap or too faint to read on the screen now (empty lists: nothing)."""
    found: dict[str, list[str]] = await page.evaluate(_AUDIT)
    return found
