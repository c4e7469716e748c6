"""Format readers: bytes from a ``ByteSource`` to format records. No terminal, no rendering."""
