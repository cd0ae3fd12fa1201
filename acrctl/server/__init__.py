"""The ARM HTTP adapter: one route table (routes.py) served by two thin adapters, ASGI
(asgi.py, for `acrctl server`) and an httpx transport (transport.py, in-process)."""
