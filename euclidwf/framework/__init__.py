"""Alias of `euclidwf.framework` for existing Euclid scripts."""
