"""The VAE family: the variational autoencoder and the VAE-GAN.

Models (components): ``vae`` (Kingma and Welling 2014; beta-VAE weighting and KL warm-up, MLP or
convolutional, Bernoulli or Gaussian decoder, IWAE evaluation) and ``vaegan`` (Larsen et al. 2016).

Modules: :mod:`~labcore_builtins.vae.bounds` (densities, KL, ELBO and IWAE bound),
:mod:`~labcore_builtins.vae.networks` (encoders and decoders from the GAN family's blocks),
:mod:`~labcore_builtins.vae.figures` (samples, reconstructions, interpolations, latent map).
"""
