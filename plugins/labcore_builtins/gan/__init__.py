"""The GAN family: GAN (DCGAN and MLP), WGAN, conditional GAN and pix2pix, with their data.

Models (components): ``gan``, ``wgan``, ``cgan``, ``pix2pix``. Datasets: ``ring`` and
``swiss-roll`` (2-D toy points), ``edges2digits`` and ``paired-folder`` (image pairs).

Reusable pieces for other families: :mod:`~labcore_builtins.gan.blocks` (DCGAN and MLP networks, a
discriminator with ``features``, minibatch standard deviation, spectral normalisation, the EMA of
weights) and :mod:`~labcore_builtins.gan.losses` (minimax, non-saturating, hinge, Wasserstein,
gradient penalty).
"""
