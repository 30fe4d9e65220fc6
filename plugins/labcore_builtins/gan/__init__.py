"""The GAN family: GAN (DCGAN and MLP), WGAN, conditional GAN and pix2pix, with their data.

Models (components): ``gan``, ``wgan``, ``cgan``, ``pix2pix``. Datasets: ``ring`` and
``swiss-roll`` (2-D toy points), ``edges2digits`` and ``paired-folder`` (image pairs).

Reusable pieces for other families: :mod:`~labcore_builtins.gan.blocks` (DCGAN and MLP networks, a
discriminator with ``features``, minibatch standard deviation, spectral normalisation, the EMA of
weights) and :mod:`~labcore_builtins.gan.losses` (minimax, non-saturating, hinge, Wasserstein,
gradient penalty). :mod:`~labcore_builtins.gan.evaluation` measures conditional models (per-class
accuracy of a cGAN's samples, a translation model's outputs against its targets) with the
feature extractors and metrics of :mod:`labcore.metrics`; :mod:`~labcore_builtins.gan.report`
adds those and the 2-D scatter plots and the WGAN critic's curve to run reports.
"""
