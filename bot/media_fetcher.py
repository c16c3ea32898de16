"""The photo fetcher: meeting photos (纪实) noted by the callback are downloaded from WeChat's temporary
media and stored (models/meeting_photo.py). WeChat keeps temporary media for 3 days only, so this runs
with the service, not on demand.

Each round claims a few due photos with a lease (several instances share one database: SKIP LOCKED on
PostgreSQL; a dead fetcher's claims are taken again when the lease runs out), downloads them through
`WeChatApi.get_media` of the platform that received them, and settles each: stored; failed for good
with a readable reason (40007: expired or invalid, not an image, too large, attempts spent); or due
again after a back-off (network, 5xx, WeChat busy)."""

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from bot.db import SessionFactory
from bot.delivery.errors import ErrorClass, backoff, classify, reason
from bot.wechat.api import ApiError, AppCredentials, Media, MediaTooLarge, WeChatApi
from models.clock import utcnow
from models.identity import Platform
from models.meeting_photo import MEDIA_KEPT, PendingPhoto, claim_pending, mark_failed, mark_stored, retry_later

log = logging.getLogger(__name__)

MAX_PHOTO_BYTES = 10 * 1024 * 1024
INVALID_MEDIA_ID = 40007
EXPIRED = "微信临时素材已过期（只保存 3 天）或 media_id 无效，照片已无法取回"
RETRY_CLASSES = frozenset({ErrorClass.transient, ErrorClass.rate, ErrorClass.token})
MIN_RETRY_SECONDS = 1.0  # full jitter may draw 0: keep a retry strictly in the future
INTERNAL_ERROR = "下载照片时出现内部错误，稍后重试"


@dataclass(frozen=True, slots=True)
class _Outcome:
    media: Media | None = None  # stored
    error: str = ""
    retry: bool = False  # a transient failure: try again later (while attempts remain)


def _megabytes(size: int) -> str:
    return f"{round(size / (1024 * 1024), 1):g} MB"


class MediaFetcher:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        api: WeChatApi,
        batch: int = 20,
        concurrency: int = 4,
        lease: timedelta = timedelta(seconds=120),
        max_attempts: int = 5,
        max_bytes: int = MAX_PHOTO_BYTES,
        retry_base: float = 5.0,
        retry_cap: float = 600.0,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.batch = batch
        self.concurrency = max(1, concurrency)
        # Longer than a 10 MB download may take at httpx's timeouts, so a slow fetch keeps its claim.
        self.lease = lease
        self.max_attempts = max_attempts
        self.max_bytes = max_bytes
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.rng = rng or random.Random()
        self.clock = clock  # a test's fetcher may run late

    def _app(self, platform: Platform) -> AppCredentials:
        return self.api.mp if platform == Platform.mp else self.api.work

    async def run_once(self) -> int:
        """Claims, downloads and settles one batch; the number of photos claimed (0: none was due)."""
        async with self.sessions() as session:
            claimed = await claim_pending(session=session, limit=self.batch, lease=self.lease, now=self.clock())
            await session.commit()
        if not claimed:
            return 0
        slots = asyncio.Semaphore(self.concurrency)

        async def one(photo: PendingPhoto) -> None:
            async with slots:
                outcome = await self._fetch(photo)
            try:
                await self._settle(photo, outcome)
            except Exception:
                # Its claim runs out and another round takes it again: nothing is lost.
                log.exception("recording photo %s failed", photo.id)

        await asyncio.gather(*(one(photo) for photo in claimed))
        return len(claimed)

    async def run_forever(self, stop: asyncio.Event, idle: float = 3.0) -> None:
        """Rounds until `stop` is set; waits `idle` seconds when nothing was due; never dies of a fault."""
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("photo fetch round failed; trying again")
                claimed = 0
            if claimed == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle)
                except TimeoutError:
                    pass

    async def _fetch(self, photo: PendingPhoto) -> _Outcome:
        if self.clock() >= photo.received_at + MEDIA_KEPT:
            return _Outcome(error=EXPIRED)  # WeChat has dropped it: no call can bring it back
        platform = photo.platform.value
        try:
            media = await self.api.get_media(self._app(photo.platform), photo.media_id, max_bytes=self.max_bytes)
        except ApiError as exc:
            if exc.errcode == INVALID_MEDIA_ID:
                return _Outcome(error=EXPIRED)
            kind = classify(platform, exc.errcode)
            return _Outcome(error=reason(platform, exc.errcode, exc.errmsg), retry=kind in RETRY_CLASSES)
        except MediaTooLarge as exc:
            return _Outcome(error=f"照片超过 {_megabytes(exc.limit)}，未保存")
        except httpx.HTTPError as exc:
            kind = classify(platform, None, exc=exc)
            if isinstance(exc, httpx.HTTPStatusError):
                error = f"微信服务器错误（HTTP {exc.response.status_code}）"
            else:
                error = f"网络错误（{type(exc).__name__}）"
            return _Outcome(error=error, retry=kind in RETRY_CLASSES)
        except Exception:
            log.exception("fetching photo %s failed", photo.id)
            return _Outcome(error=INTERNAL_ERROR, retry=True)
        if not media.content_type.startswith("image/"):
            return _Outcome(error=f"微信返回的不是图片（{media.content_type or '未知类型'}），未保存")
        if not media.data:
            return _Outcome(error="微信返回的图片是空的，未保存")
        return _Outcome(media=media)

    async def _settle(self, photo: PendingPhoto, outcome: _Outcome) -> None:
        async with self.sessions() as session:
            if outcome.media is not None:
                await mark_stored(session=session, photo_id=photo.id, data=outcome.media.data,
                                  content_type=outcome.media.content_type, now=self.clock())
            elif outcome.retry and photo.attempts < self.max_attempts:
                wait = max(MIN_RETRY_SECONDS, backoff(photo.attempts - 1, base=self.retry_base, cap=self.retry_cap,
                                                      rng=self.rng))
                await retry_later(session=session, photo_id=photo.id, error=outcome.error,
                                  at=self.clock() + timedelta(seconds=wait))
            else:
                # The reasons of transient errors say "try again later": not once the attempts are spent.
                spent = outcome.error.removesuffix("，稍后重试")
                error = f"下载 {photo.attempts} 次均未成功：{spent}" if outcome.retry else outcome.error
                await mark_failed(session=session, photo_id=photo.id, error=error)
            await session.commit()
