"""Renderers: records to rich renderables (terminal/), JSON documents (json/) and markdown; no bytes read here."""
