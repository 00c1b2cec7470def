"""The jobs worker: a process of its own that makes variants, so no upload process decodes an image for them.

The queue lives in the gateway database: Procrastinate's tables on PostgreSQL (mediaproof.jobs.pg_queue), the
upload ledger's `variant_jobs` table on SQLite (mediaproof.jobs.ledger_worker). The upload service only enqueues.
"""
