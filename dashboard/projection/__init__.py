"""Projections: requests and results, the on-disk cache of coordinates, and running them."""
