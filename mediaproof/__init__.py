"""Mediaproof: media with verifiable provenance — bytes on IPFS storage clusters, proofs of existence on Ethereum."""

__version__ = "0.1.0"
