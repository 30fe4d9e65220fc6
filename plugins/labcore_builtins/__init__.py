"""labcore's built-in plugins, one package per family, registered through the ``labcore`` entry points."""
