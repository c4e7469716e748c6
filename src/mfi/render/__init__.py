"""Renderers: ``ModelSummary`` to rich renderables, JSON-ready dicts and markdown. No bytes read here."""
