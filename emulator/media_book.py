"""The temporary media the emulator holds (emulator/media.py): what a phone's picture uploaded, by
MediaId. WeChat keeps temporary media for 3 days; after that `media/get` answers 40007."""

import secrets
from dataclasses import dataclass

MEDIA_TTL = 3 * 86400  # seconds WeChat keeps temporary media
PIC_PATH = "/mmbiz"  # where the emulator serves PicUrl (WeChat's is on mmbiz.qpic.cn)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/bmp": "bmp", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class StoredMedia:
    platform: str  # "mp" or "work": a media id is only good with the account that received it
    media_id: str
    key: str  # the PicUrl's part
    data: bytes
    content_type: str
    expires_at: float

    @property
    def filename(self) -> str:
        return f"{self.media_id}.{EXTENSIONS.get(self.content_type, 'jpg')}"


class MediaBook:
    def __init__(self, ttl: float = MEDIA_TTL) -> None:
        self.ttl = ttl
        self.by_id: dict[str, StoredMedia] = {}
        self.by_key: dict[str, StoredMedia] = {}
        # The emulator's own address, known once it listens (Emulator.start): PicUrl is absolute.
        self.base_url = ""

    def add(self, platform: str, data: bytes, content_type: str, now: float) -> StoredMedia:
        # WeChat's media ids are 64 URL-safe characters; the PicUrl does not reveal the media id.
        media = StoredMedia(platform=platform, media_id=secrets.token_urlsafe(48), key=secrets.token_urlsafe(18),
                            data=data, content_type=content_type, expires_at=now + self.ttl)
        self.by_id[media.media_id] = media
        self.by_key[media.key] = media
        return media

    def pic_url(self, media: StoredMedia) -> str:
        return f"{self.base_url}{PIC_PATH}/{media.key}/0"

    def find(self, platform: str, media_id: str, now: float) -> StoredMedia | None:
        """The media `media/get` of `platform` hands out; None when unknown, another account's, or expired."""
        media = self.by_id.get(media_id)
        if media is None or media.platform != platform or now >= media.expires_at:
            return None
        return media
