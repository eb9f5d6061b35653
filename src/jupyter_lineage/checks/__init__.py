"""Checks of a store: ``verify`` (is the record intact?) and ``doctor`` (can it be used?)."""
