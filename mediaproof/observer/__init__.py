"""The observer: health-checks storage clusters, marks them Down and Active again on chain, repairs replication.

Its own process (`python -m mediaproof.observer`).
"""
