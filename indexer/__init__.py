"""Mediaproof indexer: follows contract events into DuckDB (reorg-safe), searches titles, serves a read API.

Layout: abi (event ABIs from mediaproof/abi) · source (JSON-RPC) · manifest_source (batch manifests over HTTP) ·
batch_manifest and direct_calls (pure: check what a batch or a direct registration brings) · handlers (pure:
event → rows) · store (the only DuckDB code) · engine (order, ranges, reorgs, fetching at the edges) · text and
search (title tokens, index) · bundles (pure: proof bundles) · api · client.
"""
