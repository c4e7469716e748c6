"""`python -m mfi`: the same as the `mfi` command."""

from mfi.cli import main

main()
