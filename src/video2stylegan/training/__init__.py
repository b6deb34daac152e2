"""Training the bundled network: the small StyleGAN3 distilled from the synthetic renderer.

``video2stylegan train-synthetic`` runs it; the network it exported ships as
``synthetic-heads-128`` (docs/synthetic.md tells its runs).
"""
