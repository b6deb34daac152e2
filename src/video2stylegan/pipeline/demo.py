"""The bundled demo: which network and files ``video2stylegan demo`` uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from video2stylegan.errors import MediaError
from video2stylegan.networks.registry import BUNDLED_NETWORK
from video2stylegan.synthetic.demo import DEMO_DIR

#: Frames ``video2stylegan demo`` reenacts by default (of the bundled clips'
#: :data:`~video2stylegan.synthetic.demo.DEMO_CLIP_FRAMES`), to stay within minutes on 2 CPU cores.
DEMO_REENACTED_FRAMES = 25


@dataclass
class DemoInputs:
    source: Path
    driving: Path
    co_driving: Path | None
    network: str
    default_frames: int
    quality: str = "fast"
    # Nothing sets it any more (it told of the untrained fallback network before the bundled one shipped);
    # kept while cli/reenact_cmd.py's run_demo still prints it.
    note: str | None = None


def demo_inputs(co_driving: bool = False) -> DemoInputs:
    """The bundled files (``assets/demo``) and the network to use with them (the bundled one)."""
    files = {name: DEMO_DIR / name for name in ("source.png", "driving.mp4", "codriving.mp4")}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise MediaError(
            f"the bundled demo files are missing ({', '.join(missing)}); reinstall the package or regenerate "
            "them with `python -m video2stylegan.synthetic.demo`"
        )
    return DemoInputs(
        source=files["source.png"],
        driving=files["driving.mp4"],
        co_driving=files["codriving.mp4"] if co_driving else None,
        network=BUNDLED_NETWORK,
        default_frames=DEMO_REENACTED_FRAMES,
    )
