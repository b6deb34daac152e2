"""The method's equations (issue #5): canonical transform, residual motion, S-space combination.

Small pure modules used by the ``reenact`` pipeline:

* :mod:`.config` — :class:`ReenactConfig`, every switch and weight;
* :mod:`.canonical` — Eq. 4-6, per-frame generator ``transform`` matrices;
* :mod:`.residual` — Eq. 10 and the paper's W+ baseline;
* :mod:`.combination` — Eq. 1-3 in S space.
"""
