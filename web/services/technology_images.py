"""Technology images: checked by what the bytes are (not the name or the browser's word), re-encoded, kept on disk.

An upload must be a JPEG, PNG or WebP of reasonable size in bytes and pixels. It is decoded, turned upright (EXIF
orientation), flattened onto white, scaled to at most 1,600 pixels a side and saved as a new JPEG (so no
metadata, no GPS position, no script in a polyglot file survives), with a 640-pixel thumbnail. Files are named by
a random key under the data folder (settings.data_path), outside the static folder; routes serve them with their own
headers. Replacing an image never deletes the old file in the request: `remove_unreferenced` (an hourly job) deletes
files no technology refers to once they are an hour old, so a transaction that rolls back never leaves a row pointing at
a deleted file.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from web.errors import ValidationFailed
from web.i18n import _

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_PIXELS = 40_000_000
MIN_SIDE = 160
FULL_SIDE = 1600
THUMB_SIDE = 640
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
VARIANTS = {"full": "", "thumb": "-thumb"}
ORPHAN_SECONDS = 3600


@dataclass(frozen=True)
class ProcessedImage:
    """An accepted upload, re-encoded: the full JPEG, its thumbnail and the full size."""

    full: bytes
    thumb: bytes
    width: int
    height: int


def _reject(message: str) -> ValidationFailed:
    return ValidationFailed(message, field_errors={"image": message})


def _jpeg(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue(), copy.width, copy.height


def process_image(content: bytes, max_bytes: int) -> ProcessedImage:
    """The upload checked and re-encoded, or ValidationFailed (field `image`) saying what is wrong with it."""
    if len(content) > max_bytes:
        raise _reject(_("The image is larger than %(size)s MB. Upload a smaller JPEG, PNG or WebP file.")
                      % {"size": f"{max_bytes / 1_000_000:g}"})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(content))
            if probe.format not in ACCEPTED_FORMATS:
                raise _reject(_("Upload a JPEG, PNG or WebP image; this file is a %(kind)s.")
                              % {"kind": probe.format or "?"})
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise _reject(_("The image has more than 40 million pixels. Upload a smaller one."))
            if min(width, height) < MIN_SIDE:
                raise _reject(_("The image is too small: at least %(side)d pixels on each side.") % {"side": MIN_SIDE})
            probe.verify()  # a truncated or corrupt file fails here, before anything is decoded in full
            image = Image.open(io.BytesIO(content))
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            SyntaxError, ValueError):
        raise _reject(_("This file is not an image we can read. Upload a JPEG, PNG or WebP image.")) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    full, width, height = _jpeg(image, FULL_SIDE)
    thumb, _w, _h = _jpeg(image, THUMB_SIDE)
    return ProcessedImage(full, thumb, width, height)


class ImageStore:
    """Image files under one folder, named by random keys."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def from_settings(cls, settings) -> ImageStore:
        return cls(settings.data_path / "technology-images")

    def path(self, key: str, variant: str = "full") -> Path:
        if not KEY_RE.match(key or "") or variant not in VARIANTS:
            raise ValueError("not an image key")
        return self.directory / f"{key}{VARIANTS[variant]}.jpg"

    def save(self, image: ProcessedImage) -> str:
        """Write both files (each atomically); returns the new key."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(16)
        for variant, data in (("full", image.full), ("thumb", image.thumb)):
            target = self.path(key, variant)
            partial = target.with_suffix(".part")
            with open(partial, "wb") as handle:
                handle.write(data)
            os.replace(partial, target)
        return key

    def remove_unreferenced(self, referenced: set[str], older_than: float = ORPHAN_SECONDS) -> int:
        """Delete image files no technology refers to, once older than `older_than` seconds; returns files deleted."""
        if not self.directory.is_dir():
            return 0
        limit, removed = time.time() - older_than, 0
        for path in self.directory.iterdir():
            key = path.name.split(".", 1)[0].removesuffix("-thumb")
            try:
                if key not in referenced and path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except OSError:
                pass
        return removed
