"""Collectors: each source reads one kind of input and puts encoded events into the batcher.

Every source implements :class:`shipper.sources.base.Source`; ``build_sources`` wires them from
the config, so adding a source type never touches the others.
"""
