"""The backend: plain Python services over a store (SQLite or PostgreSQL), no HTTP."""
