"""JSON documents, one module per schema (mfi.inspect/1, mfi.compare/1, mfi.plan/1, mfi.scan/1); no rich here."""
