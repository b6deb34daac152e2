"""A small synthetic world: procedural talking heads with exact ground truth.

See docs/synthetic.md. Main entry points:

* :func:`render` / :class:`Render` - one image with its 68 landmarks and part masks;
* :func:`render_batch`, :class:`SyntheticHeads` - many renders (arrays, or a torch dataset);
* :class:`Identity`, :class:`Expression`, :class:`Pose`, :class:`HeadParams`,
  :func:`sample_params` - the parameters, as dataclasses or flat vectors;
* :func:`talking_trajectory`, :func:`render_clip` - smooth talking clips;
* :func:`generate_demo` - the bundled demo pair under ``assets/demo``.
"""

from video2stylegan.synthetic.dataset import SyntheticHeads
from video2stylegan.synthetic.head_model import PARTS
from video2stylegan.synthetic.params import (
    Expression,
    HeadParams,
    Identity,
    Pose,
    sample_params,
    sample_pose,
)
from video2stylegan.synthetic.renderer import Render, render, render_batch

__all__ = [
    "PARTS",
    "Expression",
    "HeadParams",
    "Identity",
    "Pose",
    "Render",
    "SyntheticHeads",
    "render",
    "render_batch",
    "sample_params",
    "sample_pose",
]
