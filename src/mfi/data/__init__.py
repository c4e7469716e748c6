"""Data files shipped with mfi (generated tables, explanation texts)."""
