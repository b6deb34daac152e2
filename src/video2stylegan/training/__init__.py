"""Training the bundled network: a small StyleGAN3 distilled from the synthetic renderer.

``video2stylegan train-synthetic`` runs it; the network it exported ships as
``synthetic-heads-128`` (:data:`~video2stylegan.networks.registry.BUNDLED_NETWORK`;
docs/synthetic.md tells its runs). One job per module:

* :mod:`~video2stylegan.training.latents` - the latent code: ``z`` <-> renderer parameters, seeded streams;
* :mod:`~video2stylegan.training.config` - :class:`TrainConfig`, the settings fixed for the life of a run;
* :mod:`~video2stylegan.training.data` - the training batches and the held-out set, rendered on the fly;
* :mod:`~video2stylegan.training.losses` - the distillation loss and the held-out scores;
* :mod:`~video2stylegan.training.checkpoints` - the run folder, its checkpoints, the generator a config builds;
* :mod:`~video2stylegan.training.loop` - :func:`train` and one step of it;
* :mod:`~video2stylegan.training.export` - the run's EMA generator as the network file that ships;
* :mod:`~video2stylegan.training.figures` - sample grids, and the docs' figures of the bundled network.
"""
