"""Every switch and weight of the reenactment method, with the defaults of the paper.

:class:`ReenactConfig` is a plain dataclass: build it with keywords (it checks itself once, on
construction, and stores each value in its canonical form: floats for the weights, sorted tuples for
the layers), and store it as JSON with :meth:`to_dict` / :meth:`from_dict`. Each field names the
equation or the documented **choice** it controls (see ``docs/method.md``).

Each field is a :func:`~video2stylegan.checks.setting`: its help, choices and bounds are in its metadata,
the checks read them (:func:`~video2stylegan.checks.check_settings`) and ``reenact``'s options are
generated from them (:mod:`video2stylegan.cli.options`). For the weights of Eq. 1-3, ``range`` is what
is accepted (non-finite values and values outside are refused) and ``advised`` (where given) the
documented range, outside which a value is an extrapolation the user may want, accepted with one logged
warning.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

from video2stylegan.checks import check_distinct, check_items, check_odd, check_settings, setting
from video2stylegan.errors import InvalidOptionError

log = logging.getLogger(__name__)

METHODS = ("video2stylegan", "baseline")
SOURCES = ("driving", "co-driving", "none")
CANONICAL_MODES = ("relative", "absolute")
#: What the method does at the driving clip's shot cuts (faces.shots): "reanchor" each shot's relative
#: motion to its own first frame, continuing from where the previous shot left the portrait,
#: "ignore" them (the jump at the cut passes into the portrait), or "split": the method re-anchors as
#: with "reanchor", and ``reenact`` writes one video per shot (pipeline.output.shot_paths).
CUT_POLICIES = ("reanchor", "ignore", "split")
POSE_MODES = ("relative", "absolute")
SMOOTHING_EDGES = ("shrink", "replicate")
RESIDUAL_FORMS = ("accumulated", "literal")
LOCAL_MODES = ("absolute", "relative")
ZETA_ANCHORS = ("reference", "posed")
LENGTH_POLICIES = ("loop", "truncate")

#: ws indices whose styles Eq. 1-3 combine (the paper's "layers 3-7", the modified baseline).
DEFAULT_CONSTRAINED_LAYERS = (3, 4, 5, 6, 7)
#: Layer indices are checked against ``0 .. MAX_WS - 1`` until the network is known (the largest StyleGAN3
#: has 16 ws), then against its own ``num_ws`` (:meth:`ReenactConfig.validate`).
MAX_WS = 64
#: What the help says of ``pose_layers``' default (:func:`default_pose_layers`).
DEFAULT_POSE_LAYERS_TEXT = "the first 8 ws, or the first half on networks with fewer than 16"


def default_pose_layers(num_ws: int) -> tuple[int, ...]:
    """The ws the global-pose edit moves: the first 8, or the first half on smaller networks."""
    return tuple(range(min(8, num_ws // 2)))


def _layers(default, help: str, default_text: str | None = None):
    """A field of distinct ws indices (returned sorted) from 0 to ``MAX_WS - 1``."""
    return setting(default, help, range=(0, MAX_WS - 1), check=check_distinct, default_text=default_text)


def weight_fields() -> tuple:
    """The float fields of :class:`ReenactConfig` (Eq. 1-3 weights), each with help and range metadata."""
    return tuple(f for f in fields(ReenactConfig) if f.type in (float, "float"))


@dataclass
class ReenactConfig:
    """Switches and weights of Video2StyleGAN (defaults: the paper, and the choices of method.md)."""

    method: str = setting("video2stylegan", "the full method, or the paper's baseline (W+ differences on all "
                          "layers)", choices=METHODS)
    # Eq. 1-3 weights. alpha, beta and gamma scale style vectors and differences: the advised ranges
    # span what the paper, docs/method.md and benchmarks/RESULTS.md use (the paper's -1, 1, 1; the
    # benchmark's alpha=beta=0 and alpha=-2, beta=2; the identity alpha=1, beta=gamma=0); beyond them
    # they exaggerate the transferred motion, an extrapolation one may want, so they only warn there.
    # Past +-10 the styles are pushed an order of magnitude beyond anything measured (and 1e300
    # overflows float32): refused. zeta is a share of Eq. 3's convex mix of two styles; outside 0..1
    # it is no share of either: refused.
    alpha: float = setting(-1.0, "Eq. 1 weight of the reference's local styles", range=(-10.0, 10.0),
                           advised=(-2.0, 2.0))
    beta: float = setting(1.0, "Eq. 1 weight of the driving frame's local styles", range=(-10.0, 10.0),
                          advised=(-2.0, 2.0))
    gamma: float = setting(1.0, "Eq. 2 weight of the residual base on the local channels", range=(-10.0, 10.0),
                           advised=(0.0, 2.0))
    zeta: float = setting(0.5, "Eq. 3 share of the reference on the other channels of the constrained layers",
                          range=(0.0, 1.0))
    # Components (for ablations).
    use_canonical: bool = setting(True, "the canonical transform (Eq. 4-6): the portrait's face follows the "
                                  "driver's placement in the frame", option="--no-canonical")
    use_pose: bool = setting(True, "the global pose edit (Eq. 7): the portrait's head turns as the driver's",
                             option="--no-pose")
    use_local: bool = setting(True, "the local edit (Eq. 1-2): the driver's eye and mouth motion on the local "
                              "channels", option="--no-local")
    use_residual: bool = setting(True, "the residual motion (Eq. 10) on the constrained layers",
                                 option="--no-residual")
    transform_from: str = setting("driving", "clip of the canonical transform", choices=SOURCES)
    pose_from: str = setting("driving", "clip of the head pose", choices=SOURCES)
    smoothing_kernel: int = setting(3, "frames of the canonical transform's temporal mean filter, an odd number: "
                                    "the paper's 3 or more, or 1 to turn smoothing off", range=(1, None),
                                    check=check_odd)
    smoothing_edges: str = setting("shrink", "how the canonical transform's filter treats the clip's ends: "
                                   "shrink the window or replicate the end frame", choices=SMOOTHING_EDGES)
    canonical_mode: str = setting("relative", "transfer the driver's placement change since its first frame "
                                  "(relative) or its absolute placement", choices=CANONICAL_MODES)
    # **choice**, docs/method.md: the pose edit moves the eye centre too.
    canonical_feedback: bool = setting(True, "correct the canonical transform for where the edited face "
                                       "already is")
    # relative: **choice**; absolute: paper.
    pose_mode: str = setting("relative", "Eq. 7 target: the reference's pose plus the driver's change since "
                             "its first frame (relative) or the driver's pose (absolute)", choices=POSE_MODES)
    residual_form: str = setting("accumulated", "Eq. 10 as accumulated motion or the literal one-step "
                                 "difference", choices=RESIDUAL_FORMS)
    constrained_layers: tuple[int, ...] = _layers(DEFAULT_CONSTRAINED_LAYERS, "ws indices whose styles Eq. 1-3 "
                                                  "combine and Eq. 10 moves")
    pose_layers: tuple[int, ...] | None = _layers(None, "ws indices the pose edit moves",
                                                  default_text=DEFAULT_POSE_LAYERS_TEXT)
    # relative: **choice**, measured better on the ground-truth benchmark; absolute: paper.
    local_mode: str = setting("relative", "Eq. 1 anchor: the driver's change of eyes and mouth since its first "
                              "frame (relative) or the reference's styles (absolute, the paper's: the portrait "
                              "takes the driver's eye and mouth look)", choices=LOCAL_MODES)
    # posed: the pose edit on the constrained layers survives whole.
    zeta_anchor: str = setting("reference", "what Eq. 3's zeta keeps: the unedited reference's styles "
                               "(reference, paper) or the pose-edited ones (posed)", choices=ZETA_ANCHORS)
    codriving_length: str = setting("loop", "when the co-driving clip's length differs: loop it or truncate "
                                    "both", choices=LENGTH_POLICIES)
    cuts: str = setting(
        "reanchor",
        "at the driving clip's shot cuts: re-anchor each shot's motion to its own first frame so the "
        "portrait moves on without a jump (reanchor), pass the jump into the portrait (ignore), or "
        "re-anchor and write one video per shot (split: --out result.mp4 writes result.shot01.mp4, "
        "result.shot02.mp4, ..., numbered from 1 with at least two digits; a clip without cuts "
        "writes result.shot01.mp4 alone; with --keep-audio each file gets its shot's audio)",
        choices=CUT_POLICIES)

    def __post_init__(self) -> None:
        # checked once; each value stored in its canonical form (floats, sorted tuples) as part of construction
        for name, value in self._checked().items():
            setattr(self, name, value)
        for f in weight_fields():
            low, high = f.metadata.get("advised", f.metadata["range"])
            value = getattr(self, f.name)
            if not low <= value <= high:
                log.warning(
                    "%s (--%s) = %g is outside its documented range %g to %g: an extrapolation of Eq. 1-3 the "
                    "paper and the benchmarks did not measure; expect exaggerated motion or artefacts",
                    f.name, f.name, value, low, high,
                )

    # ------------------------------------------------------------------ checks
    def validate(self, num_ws: int | None = None) -> "ReenactConfig":
        """Check every field again (after a change to one) and, with ``num_ws``, the layer indices against a
        network; raise :class:`InvalidOptionError` naming each bad field. Changes nothing; returns ``self``."""
        self._checked(num_ws)
        return self

    def _checked(self, num_ws: int | None = None) -> dict:
        """Every field's value in its canonical form (as construction stores it), checked, with ``num_ws``,
        against a network; ``self`` is left as it is."""
        values = check_settings(self, "method configuration")
        if num_ws is not None:
            for name in ("constrained_layers", "pose_layers"):
                if values[name] is not None:
                    _check_layers_fit(name, values[name], num_ws)
        return values

    # ------------------------------------------------------------ derived values
    @property
    def canonical_source(self) -> str:
        """The clip the canonical transform comes from, "none" when it is switched off."""
        return self.transform_from if (self.use_canonical and self.method == "video2stylegan") else "none"

    @property
    def pose_source(self) -> str:
        """The clip the global pose follows, "none" when it is switched off."""
        return self.pose_from if (self.use_pose and self.method == "video2stylegan") else "none"

    @property
    def needs_codriving(self) -> bool:
        return "co-driving" in (self.canonical_source, self.pose_source)

    def resolved_pose_layers(self, num_ws: int) -> tuple[int, ...]:
        layers = self.pose_layers if self.pose_layers is not None else default_pose_layers(num_ws)
        return _check_layers_fit("pose_layers", layers, num_ws)

    def combination_kwargs(self, num_ws: int) -> dict:
        """Keyword arguments of :func:`video2stylegan.method.combination.combine_styles` (the values in their
        canonical form, checked against a network of ``num_ws`` ws)."""
        values = self._checked(num_ws)
        return dict(
            alpha=values["alpha"],
            beta=values["beta"],
            gamma=values["gamma"],
            zeta=values["zeta"],
            constrained_layers=values["constrained_layers"],
            pose_layers=self.resolved_pose_layers(num_ws),
            local_mode=self.local_mode,
            zeta_anchor=self.zeta_anchor,
        )

    # -------------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """Plain JSON-ready values (tuples become lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ReenactConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`InvalidOptionError`."""
        if not isinstance(data, dict):
            raise InvalidOptionError(f"a method configuration must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidOptionError(
                f"unknown method option(s) {unknown}; known options: {', '.join(sorted(known))}"
            )
        return cls(**data)


def _check_layers_fit(name: str, layers, num_ws: int) -> tuple[int, ...]:
    """``layers``: distinct ws indices of a network with ``num_ws`` ws; returned sorted."""
    try:
        return check_distinct(name, check_items(name, layers, int, 0, num_ws - 1))
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"{exc} (the network has {num_ws} ws)") from None
