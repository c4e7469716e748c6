"""``mfi scan``: hostile content in a model file or folder, found without running any of it.

``run.scan_path`` walks the files; ``pickles``, ``templates`` and ``remote_code`` turn what the readers
report into ``Finding`` records with severities. Nothing here imports, executes or renders content
from a model file.
"""
