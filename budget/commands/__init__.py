"""One module per CLI command; each defines a Click command named like the module."""
