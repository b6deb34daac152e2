"""The bundled demo: which network and files ``video2stylegan demo`` uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from video2stylegan.errors import MediaError

#: The network trained on the synthetic heads (issue #4); used when the package ships it.
DEMO_NETWORK = "synthetic-heads-128"
#: Until then: an untrained network, which shows the pipeline's mechanics but no faces.
FALLBACK_NETWORK = "random-r-128"
#: Frames the demo uses by default (of the bundled 100), to stay within minutes on 2 CPU cores:
#: on the trained network, and on the (larger, slower) untrained fallback.
DEMO_FRAMES = 25
FALLBACK_FRAMES = 10


@dataclass
class DemoInputs:
    source: Path
    driving: Path
    co_driving: Path | None
    network: str
    default_frames: int
    quality: str = "fast"
    note: str | None = None


def demo_inputs(co_driving: bool = False) -> DemoInputs:
    """The bundled files (``assets/demo``) and the network to use with them."""
    from video2stylegan.networks.registry import NETWORKS
    from video2stylegan.synthetic.demo import DEMO_DIR

    files = {name: DEMO_DIR / name for name in ("source.png", "driving.mp4", "codriving.mp4")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise MediaError(
            f"the bundled demo files are missing ({', '.join(missing)}); reinstall the package or regenerate "
            "them with `python -m video2stylegan.synthetic.demo`"
        )
    note = None
    network, quality, frames = DEMO_NETWORK, "fast", DEMO_FRAMES
    if DEMO_NETWORK not in NETWORKS:
        network, quality, frames = FALLBACK_NETWORK, "draft", FALLBACK_FRAMES
        note = (f"note: the trained synthetic network ({DEMO_NETWORK}) is not shipped yet; running on the untrained "
                f"{FALLBACK_NETWORK}, which shows the pipeline's mechanics (embedding, transform, timing) but no "
                "meaningful faces, so it uses the smallest embedding budget (--quality draft).")
    return DemoInputs(
        source=files["source.png"],
        driving=files["driving.mp4"],
        co_driving=files["codriving.mp4"] if co_driving else None,
        network=network,
        default_frames=frames,
        quality=quality,
        note=note,
    )
