"""acrctl: geo-replicated container registry management."""

__version__ = "0.1.0"
