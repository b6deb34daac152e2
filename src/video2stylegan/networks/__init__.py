"""StyleGAN3 generators: the network itself, and every way to get one.

``stylegan3`` is the generator (``layers``, ``resampling``, ``constant_conv`` its
building blocks; ``transforms`` the matrices of its Fourier-feature ``transform`` and
the conversions of its images to and from ``uint8``). ``loading.load_generator`` is the
one entry point: a registry name (``registry``: download, cache, untrained and bundled
networks), an official NVIDIA ``.pkl`` (``official_pickle``, read without running any of
NVIDIA's code) or our ``.safetensors`` (``checkpoint``) gives a ``Generator`` in eval
mode with frozen weights; ``state`` holds the checks the two file formats share.
Nothing here knows about faces, metrics or the method.
"""
