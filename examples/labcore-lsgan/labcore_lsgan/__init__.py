"""labcore-lsgan: the least-squares GAN (Mao et al. 2017) as a third-party labcore plugin."""

__version__ = "0.1.0"
