"""The method's steps (issue #5), each a small module used by :mod:`video2stylegan.pipeline`:

* :mod:`.config` — :class:`ReenactConfig`, every switch and weight;
* :mod:`.projection`, :mod:`.pti`, :mod:`.losses`, :mod:`.cache` — W+ projection with warm
  starts, pivotal tuning, the perceptual loss (LPIPS or the weight-free fallback), the disk cache;
* :mod:`.canonical` — Eq. 4-6, per-frame generator ``transform`` matrices;
* :mod:`.pose`, :mod:`.pose_encoding` — the pose regressor P_r and Eq. 7;
* :mod:`.feature_maps`, :mod:`.local_channels` — Eq. 8-9: the maps and IoUs, and the calibration of
  the eye / nose / mouth channels of S space;
* :mod:`.residual` — Eq. 10 and the paper's W+ baseline;
* :mod:`.combination` — Eq. 1-3 in S space.
"""
