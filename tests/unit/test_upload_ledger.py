"""The variant queue in the gateway database: atomic claims, retries with back-off, survival of a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from mediaproof.upload.ledger import UploadLedger, retry_delay

# Every test that stores runs on each backend (SQLite file, real PostgreSQL): tests/conftest.py's gateway_target.


def test_claim_takes_each_job_once_across_threads(gateway_target: Path | str) -> None:
    db = gateway_target
    ledger = UploadLedger(db)
    for n in range(40):
        ledger.enqueue(f"{n:064x}", "image/jpeg")
    taken: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        own = UploadLedger(db)
        while (job := own.claim()) is not None:
            with lock:
                taken.append(job.original)
        own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == [f"{n:064x}" for n in range(40)]


def test_failure_comes_back_after_back_off_then_fails_for_good(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.enqueue("aa" * 32, "image/png")
    job = ledger.claim()
    assert job is not None and job.attempts == 1
    assert ledger.fail(job.original, "cluster 2 down", max_attempts=3) == "pending"
    assert ledger.claim() is None  # not due yet: back-off
    due = ledger.next_due()
    assert due is not None
    job = ledger.claim(now=due)
    assert job is not None and job.attempts == 2
    assert ledger.fail(job.original, "cluster 2 down", max_attempts=3) == "pending"
    job = ledger.claim(now=ledger.next_due())  # type: ignore[arg-type]
    assert job is not None and job.attempts == 3
    assert ledger.fail(job.original, "cluster 2 down", max_attempts=3) == "failed"
    assert ledger.job("aa" * 32).state == "failed"  # type: ignore[union-attr]
    ledger.enqueue("aa" * 32, "image/png")  # a new upload of the same bytes gives it a fresh start
    assert ledger.job("aa" * 32).state == "pending"  # type: ignore[union-attr]


def test_permanent_failure_is_not_retried(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.enqueue("bb" * 32, "image/gif")
    job = ledger.claim()
    assert job is not None
    assert ledger.fail(job.original, "corrupt", max_attempts=5, permanent=True) == "failed"


def test_running_jobs_of_a_dead_process_are_queued_again(gateway_target: Path | str) -> None:
    db = gateway_target
    first = UploadLedger(db)
    first.enqueue("cc" * 32, "video/mp4")
    assert first.claim() is not None  # the process dies holding it
    first.close()
    second = UploadLedger(db)
    assert second.claim() is None
    assert second.requeue_running() == 1
    job = second.claim()
    assert job is not None and job.original == "cc" * 32


def test_enqueue_does_not_restart_a_done_or_queued_job(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.enqueue("dd" * 32, "image/jpeg")
    ledger.enqueue("dd" * 32, "image/jpeg")
    job = ledger.claim()
    assert job is not None
    ledger.finish(job.original)
    ledger.enqueue("dd" * 32, "image/jpeg")
    assert ledger.job("dd" * 32).state == "done"  # type: ignore[union-attr]


def test_retry_delay_doubles_and_is_capped() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(40) == 300.0


def test_only_unsigned_uploads_expire_and_open_ones_count_as_references(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    sha, other = "aa" * 32, "bb" * 32
    for upload_id, digest in (("stored", sha), ("prepared", sha), ("signed", sha), ("done", sha), ("b", other)):
        ledger.add_upload(upload_id, digest, "bafy", 10, "image/png", 1, 1, None, "0xA")
    record = {"mode": "direct", "message": {}}
    ledger.prepare("prepared", "0xA", "t", "0xU", record)
    ledger.prepare("signed", "0xA", "t", "0xU", record)
    ledger.set_media_id("signed", "0x" + "11" * 32)  # signed and perhaps sent: reconcile's, never expired
    ledger.commit("done", "0x" + "22" * 32, "abc", "0x" + "33" * 32, 7)
    assert ledger.open_uploads_of([sha]) == 3 and ledger.open_uploads_of([sha, other]) == 4
    assert ledger.expired(before=0) == []  # nothing is that old
    expired = {u.upload_id for u in ledger.expired(before=2**40)}
    assert expired == {"stored", "prepared", "b"}
    assert ledger.remove_expired("stored") and not ledger.remove_expired("signed")
    ledger.anchoring("prepared", "0x" + "44" * 32)  # a commit took it first
    assert not ledger.remove_expired("prepared")
    assert ledger.open_uploads_of([sha]) == 2 and ledger.get("stored") is None


def test_set_direct_keeps_the_record_and_adds_what_the_registration_is_sent_with(gateway_target: Path | str) -> None:
    ledger = UploadLedger(gateway_target)
    ledger.add_upload("u1", "aa" * 32, "bafy", 10, "image/png", 1, 1, None, "0xA")
    ledger.prepare("u1", "0xA", "Harbour", "0xU", {"mode": "direct", "message": {"title": "Harbour"}})
    receipts = [{"cluster": 1, "signature": "0x01"}]
    ledger.set_direct("u1", "0x" + "11" * 32, "0xsig", receipts, from_block=42)
    upload = ledger.get("u1")
    assert upload is not None and upload.media_id == "0x" + "11" * 32
    assert upload.record == {
        "mode": "direct",
        "message": {"title": "Harbour"},
        "direct": {"signature": "0xsig", "receipts": receipts, "from_block": 42},
    }
    assert [u.upload_id for u in ledger.unlinked()] == ["u1"]  # signed and perhaps sent: a restart looks for it
    ledger.set_direct("nobody", "0x" + "22" * 32, "0xsig", [], from_block=1)  # an unknown upload: nothing written
    assert ledger.get("nobody") is None


def test_claims_from_many_connections_never_take_one_job_twice(gateway_target: Path | str) -> None:
    # PostgreSQL runs claims concurrently (SQLite one writer at a time): every job once, none left behind.
    ledgers = [UploadLedger(gateway_target) for _ in range(4)]
    for n in range(60):
        ledgers[0].enqueue(f"{n:064x}", "image/jpeg")
    taken: list[str] = []
    lock = threading.Lock()

    def worker(own: UploadLedger) -> None:
        # None only when every pending job is being claimed by another worker, which then takes it.
        while (job := own.claim()) is not None:
            with lock:
                taken.append(job.original)

    threads = [threading.Thread(target=worker, args=(ledger,)) for ledger in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == [f"{n:064x}" for n in range(60)]
