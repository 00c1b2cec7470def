"""Making an original's renditions: small/medium/large (photos) or a poster frame (videos), each stored on R clusters
and recorded ready. Only the jobs worker imports this module: it is where images are decoded for variants."""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from mediaproof import faults, variants, video
from mediaproof.content import digest_bytes
from mediaproof.errors import StorageError
from mediaproof.gateway_store import GatewayStore, Rendition
from mediaproof.jobs.spool import Spool
from mediaproof.upload.decode_budget import DecodeBudget, NoBudget
from mediaproof.upload.intake import register_heif
from mediaproof.upload.placement import Placer

logger = logging.getLogger(__name__)


@dataclass
class VariantMaker:
    """What every variant job of this process shares: the placer, the spool, the decode budget."""

    placer: Placer
    spool: Spool
    budget: DecodeBudget
    fail_tries: int = 0  # tests only (MEDIAPROOF_JOBS_TEST_FAIL_TRIES): the first tries fail as an outage would

    def run(self, original: str, media_type: str, try_number: int, store: GatewayStore) -> list[Rendition]:
        """Try number `try_number` (from 1) of the variants of `original` (sha256 hex). InputError: the original
        cannot be decoded, no retry helps; any other exception is a passing failure. The spooled original goes once
        the renditions are made."""
        if try_number <= self.fail_tries:
            raise StorageError(f"test outage: try {try_number} of {self.fail_tries} failing on purpose")
        made = make_renditions(original, media_type, store, self.placer, self.spool, self.budget)
        faults.point("variants-made")
        self.spool.drop(original)
        return made


def make_renditions(
    original_sha: str,
    media_type: str,
    store: GatewayStore,
    placer: Placer,
    spool: Spool,
    budget: DecodeBudget | None = None,
) -> list[Rendition]:
    """Make, store on R clusters and record every rendition of `original_sha`; returns them (all ready). Running it
    again gives the same renditions (the same bytes, so the same sha256 and placements): a retried job is harmless.
    Photos are decoded within `budget` (waiting for room as long as it takes); an image the whole budget could
    not hold fails for good with a sentence, its original still served."""
    original = spool.path(original_sha)
    with tempfile.TemporaryDirectory(dir=spool.directory, prefix="fetch-") as scratch:
        if not original.exists():  # a worker on another machine, or the spool lost: back from a cluster
            original = placer.fetch_to(store, original_sha, Path(scratch) / "original")
        if media_type.startswith("video/"):
            poster = video.poster_frame(original)
            with Image.open(io.BytesIO(poster)) as frame:
                made = [variants.Variant("poster", poster, frame.width, frame.height, "image/jpeg")]
        else:
            register_heif()
            made = variants.make_variants(original.read_bytes(), admit=(budget or NoBudget()).hold)
        renditions = []
        for variant in made:
            digest = digest_bytes(variant.data)
            placer.place(store, digest, variant.data, title=f"{variant.name} of {original_sha[:12]}")
            rendition = Rendition(
                name=variant.name,
                sha256=digest.sha256_hex,
                cid=digest.cid,
                size=digest.size,
                media_type=variant.media_type,
                width=variant.width,
                height=variant.height,
                ready=True,
            )
            store.put_rendition(original_sha, rendition)
            renditions.append(rendition)
    return renditions
