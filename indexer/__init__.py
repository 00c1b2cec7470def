"""Mediaproof indexer: follows contract events into DuckDB (reorg-safe), searches titles, serves a read API.

Layout: abi (event ABIs from the interfaces) · source (JSON-RPC) · handlers (pure: event → rows) · store (the
only DuckDB code) · engine (order, batches, reorgs) · text and search (title tokens, index) · api · client.
"""
