"""Every switch and weight of the reenactment method, with the defaults of the paper.

:class:`ReenactConfig` is a plain dataclass: build it with keywords, check it
with :meth:`ReenactConfig.validate` (called on construction), and store it as
JSON with :meth:`to_dict` / :meth:`from_dict`. Each field names the equation or
the documented **choice** it controls (see ``docs/method.md``).

The weights of Eq. 1-3 carry their help and ranges in their field metadata (the
command line is generated from it, see :mod:`video2stylegan.cli.options`):
``range`` is what is accepted (non-finite values and values outside are refused),
``advised`` (where given) the documented range, outside which a value is an
extrapolation the user may want, accepted with one logged warning.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, fields

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


def default_pose_layers(num_ws: int) -> tuple[int, ...]:
    """The ws the global-pose edit moves: the first 8, or the first half on smaller networks."""
    return tuple(range(min(8, num_ws // 2)))


def _weight(default: float, help: str, accepted: tuple[float, float], advised: tuple[float, float] | None = None):
    """A float field of Eq. 1-3 with its help, ``accepted`` range and documented ``advised`` range."""
    metadata = {"help": help, "range": accepted}
    if advised is not None:
        metadata["advised"] = advised
    return field(default=default, metadata=metadata)


def choice_fields() -> tuple:
    """The fields of :class:`ReenactConfig` whose metadata hold their ``help`` and ``choices`` (one
    ``--name`` option each: ``add_field_option(parser, f, choices=f.metadata["choices"])``)."""
    return tuple(f for f in fields(ReenactConfig) if "choices" in f.metadata)


def weight_fields() -> tuple:
    """The float fields of :class:`ReenactConfig` (Eq. 1-3 weights), each with help and range metadata."""
    return tuple(f for f in fields(ReenactConfig) if "range" in f.metadata)


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise InvalidOptionError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def _check_layers(name: str, value, num_ws: int | None = None) -> tuple[int, ...]:
    try:
        layers = tuple(int(v) for v in value)
        if any(float(a) != b for a, b in zip(value, layers)):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a sequence of integer ws indices, got {value!r}") from None
    if not layers:
        raise InvalidOptionError(f"{name} must not be empty")
    if len(set(layers)) != len(layers):
        raise InvalidOptionError(f"{name} must not repeat a layer, got {list(layers)}")
    upper = num_ws if num_ws is not None else 64
    bad = [v for v in layers if v < 0 or v >= upper]
    if bad:
        raise InvalidOptionError(f"{name}: ws indices must lie in 0..{upper - 1}, got {bad}")
    return tuple(sorted(layers))


@dataclass
class ReenactConfig:
    """Switches and weights of Video2StyleGAN (defaults: the paper, and the choices of method.md)."""

    #: "video2stylegan" (the full method) or "baseline" (the paper's W+ difference on all layers).
    method: str = "video2stylegan"
    # Eq. 1-3 weights. alpha, beta and gamma scale style vectors and differences: the advised ranges
    # span what the paper, docs/method.md and benchmarks/RESULTS.md use (the paper's -1, 1, 1; the
    # benchmark's alpha=beta=0 and alpha=-2, beta=2; the identity alpha=1, beta=gamma=0); beyond them
    # they exaggerate the transferred motion, an extrapolation one may want, so they only warn there.
    # Past +-10 the styles are pushed an order of magnitude beyond anything measured (and 1e300
    # overflows float32): refused. zeta is a share of Eq. 3's convex mix of two styles; outside 0..1
    # it is no share of either: refused.
    alpha: float = _weight(-1.0, "Eq. 1 weight of the reference's local styles", (-10.0, 10.0), (-2.0, 2.0))
    beta: float = _weight(1.0, "Eq. 1 weight of the driving frame's local styles", (-10.0, 10.0), (-2.0, 2.0))
    gamma: float = _weight(1.0, "Eq. 2 weight of the residual base on the local channels", (-10.0, 10.0), (0.0, 2.0))
    zeta: float = _weight(0.5, "Eq. 3 share of the reference on the other channels of the constrained layers",
                          (0.0, 1.0))
    # Components (for ablations).
    use_canonical: bool = True
    use_pose: bool = True
    use_local: bool = True
    use_residual: bool = True
    # Where the canonical transform (Eq. 4-6) and the global pose come from.
    transform_from: str = "driving"
    pose_from: str = "driving"
    # Canonical transform: temporal mean filter and motion mode.
    smoothing_kernel: int = 3
    smoothing_edges: str = "shrink"
    canonical_mode: str = "relative"
    #: Measure where the edited face is before the canonical transform and correct the transform
    #: for it (the pose edit moves the eye centre too; **choice**, docs/method.md).
    canonical_feedback: bool = True
    #: Eq. 7 target: "relative" (the reference's pose plus the clip's change since its first
    #: frame, **choice**) or "absolute" (the clip's pose, paper).
    pose_mode: str = "relative"
    # Eq. 10 form and the ws it acts on.
    residual_form: str = "accumulated"
    constrained_layers: tuple = DEFAULT_CONSTRAINED_LAYERS
    #: ws moved by the pose edit; None = the first 8 (first half on networks with fewer ws).
    pose_layers: tuple | None = None
    #: Eq. 1 anchor: "relative" (the first driving frame's styles, **choice**: measured better on the
    #: ground-truth benchmark) or "absolute" (the reference's styles, paper).
    local_mode: str = "relative"
    #: What Eq. 3's zeta keeps on the unselected channels: "reference" (w_ref's styles, paper) or
    #: "posed" (the pose-edited reference's, so the pose edit on the constrained layers survives whole).
    zeta_anchor: str = "reference"
    #: When the co-driving clip's length differs from the driving clip's: "loop" it or "truncate" both.
    codriving_length: str = "loop"
    #: At the driving clip's shot cuts: "reanchor", "ignore" or "split" (:data:`CUT_POLICIES`, docs/method.md).
    cuts: str = field(default="reanchor", metadata={
        "help": "at the driving clip's shot cuts: re-anchor each shot's motion to its own first frame so the "
                "portrait moves on without a jump (reanchor), pass the jump into the portrait (ignore), or "
                "re-anchor and write one video per shot (split: --out result.mp4 writes result.shot01.mp4, "
                "result.shot02.mp4, ..., numbered from 1 with at least two digits; a clip without cuts "
                "writes result.shot01.mp4 alone; with --keep-audio each file gets its shot's audio)",
        "choices": CUT_POLICIES})

    def __post_init__(self) -> None:
        self.validate()
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
        """Raise :class:`InvalidOptionError` naming the first bad field; ``num_ws`` also
        checks the layer indices against a network. Returns ``self``."""
        _check_choice("method", self.method, METHODS)
        for f in weight_fields():
            value = getattr(self, f.name)
            low, high = f.metadata["range"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise InvalidOptionError(
                    f"{f.name} (--{f.name}) must be a finite number from {low:g} to {high:g}, got {value!r}"
                )
            setattr(self, f.name, float(value))
        for name in ("use_canonical", "use_pose", "use_local", "use_residual", "canonical_feedback"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidOptionError(f"{name} must be true or false, got {getattr(self, name)!r}")
        _check_choice("transform_from", self.transform_from, SOURCES)
        _check_choice("pose_from", self.pose_from, SOURCES)
        k = self.smoothing_kernel
        if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise InvalidOptionError(
                f"smoothing_kernel must be an odd integer >= 1 (paper: 3 or more; 1 turns smoothing off), got {k!r}"
            )
        _check_choice("smoothing_edges", self.smoothing_edges, SMOOTHING_EDGES)
        _check_choice("canonical_mode", self.canonical_mode, CANONICAL_MODES)
        _check_choice("pose_mode", self.pose_mode, POSE_MODES)
        _check_choice("residual_form", self.residual_form, RESIDUAL_FORMS)
        self.constrained_layers = _check_layers("constrained_layers", self.constrained_layers, num_ws)
        if self.pose_layers is not None:
            self.pose_layers = _check_layers("pose_layers", self.pose_layers, num_ws)
        _check_choice("local_mode", self.local_mode, LOCAL_MODES)
        _check_choice("zeta_anchor", self.zeta_anchor, ZETA_ANCHORS)
        _check_choice("codriving_length", self.codriving_length, LENGTH_POLICIES)
        _check_choice("cuts", self.cuts, CUT_POLICIES)
        return self

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
        return _check_layers("pose_layers", layers, num_ws)

    def combination_kwargs(self, num_ws: int) -> dict:
        """Keyword arguments of :func:`video2stylegan.method.combination.combine_styles`."""
        self.validate(num_ws)
        return dict(
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            zeta=self.zeta,
            constrained_layers=self.constrained_layers,
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
        kwargs = dict(data)
        for key in ("constrained_layers", "pose_layers"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)
