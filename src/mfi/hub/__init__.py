"""Hubs: remote targets, mirrors, repo listings, pull plans and verified, resumable downloads."""
