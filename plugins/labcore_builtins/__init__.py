"""labcore's built-in plugins: one package per family, each a ``labcore`` entry point."""
