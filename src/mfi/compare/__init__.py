"""``mfi compare``: the same model across formats and quantizations (records, name matching, converter rules, values)."""
