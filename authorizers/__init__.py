"""API Gateway Lambda authorizers: validators, key sources, handlers and a CLI.

Import what you need from its module (``authorizers.jwt``, ``authorizers.errors``);
this package imports nothing heavy itself, to keep cold starts short.
"""

__version__ = "0.1.0"
