"""The upload service: streams files in, validates them by content, stores them on R clusters, makes variants,
and registers the owner's signed record on chain (relayed, or sent by the client). Run `python -m mediaproof.upload`.
"""
