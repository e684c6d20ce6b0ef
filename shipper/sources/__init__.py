"""Collectors: each source reads one kind of input and puts encoded events into the batcher.

Every source implements :class:`shipper.sources.base.Source` and keeps its config model in its
own module; ``shipper/source_types.py`` is the one table of them (``type`` → config, class),
so adding a source type never touches the others.
"""
