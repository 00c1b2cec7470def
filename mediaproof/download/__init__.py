"""The download service: `/m/<short id>?size=…` served from the nearest healthy storage cluster, cached, ranged.

Its own process (`python -m mediaproof.download`); reads the gateway database read-only and the chain's topology.
"""
