"""The logging plugin: TensorBoard event files for every run, written from the trainer's event
hooks (see :mod:`labcore_builtins.logging.plugin`). It is active only where the ``tensorboard``
package is installed; ``log.jsonl`` is written by the trainer in every case."""
