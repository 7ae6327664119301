"""Alias of the Euclid workflow package so existing Pipeline Scripts run unchanged."""
