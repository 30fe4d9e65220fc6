"""The metrics family: generative-model metrics, feature extractors and ``labcore metrics A B``.

Metrics (components): ``fid``, ``kid``, ``mmd``, ``is``, ``mode_score``, ``wasserstein``, ``1nn``,
``prdc`` (from :mod:`labcore.metrics`). Feature extractors: ``inception-v3-fid`` and ``classifier``
(from :mod:`labcore.features`). Commands: ``labcore metrics A B`` compares two image folders or
``.npz`` files of images or features, as the standalone FID tools do
(:mod:`~labcore_builtins.metrics.cli`); ``labcore metric-study`` measures what each metric detects
on controlled corruptions of real data (:mod:`~labcore_builtins.metrics.study_cli`).
"""
