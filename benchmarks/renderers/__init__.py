"""One module per benchmark (or example / CLI output) that renders its stored JSON as Markdown.

Each module declares ``TABLES = {"NAME.md": (SOURCE, render)}``: ``render`` turns the record in
``benchmarks/results/SOURCE`` (or, for a glob such as ``hierarchy*.json``, the list of matching
records in path order) into the Markdown that ``python benchmarks/tables.py`` writes to
``benchmarks/results/NAME.md`` and copies into README.md and docs/. The modules need nothing but
the standard library, so the tables render (and ``tables.py --check`` runs) without torch or Ray.
"""
