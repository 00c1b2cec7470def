"""Invariant test with an attacker: honest owners upload bytes (receipts are handed only to whoever uploaded, as the
gateway does) and prove them directly or in batches; an attacker who sees everything public (pending calldata,
events, batch roots, other people's bundles) tries every route the review found. After every step, against ghost
state kept in Python: proofOf names only a legitimate uploader, the earliest proof recorded so far, and it never
moves later."""

from __future__ import annotations

from dataclasses import replace

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from mediakit import RECEIPT_LIFETIME, BatchEntry, private_key

from mediaproof import eip712

# Few distinct hashes, so owners and the attacker collide on the same bytes often.
SHA_POOL = [bytes([i]) * 32 for i in range(1, 5)]
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_invariant_attacker_never_gets_an_earlier_proof(project, chain, app, topology, kit, accounts, sequencer):
    honest = [accounts[2], accounts[3]]
    attacker = accounts[6]
    for account in [honest[1], attacker]:
        app.register(sender=account, value=10**17)
    contracts = {a.address: project.UserMedia.at(app.userContract(a)) for a in [*honest, attacker]}
    keys = {a.address: private_key(a) for a in [*honest, attacker]}

    class AttackedRegistry(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.uploaded: dict[bytes, set[str]] = {}  # sha -> owners the gateway handed receipts for it
            self.seen: list[BatchEntry] = []  # everything the attacker has seen: pending calls, events, bundles
            self.pending: list[BatchEntry] = []  # the sequencer's open batch
            self.anchored: list[tuple[BatchEntry, list[bytes], int]] = []  # (entry, path, batch)
            self.best: dict[bytes, int] = {}  # sha -> earliest block recorded in proofOf so far
            self.nonce = 0

        def teardown(self):
            if hasattr(self, "snapshot"):
                chain.restore(self.snapshot)

        def fresh_record(self, owner: str, sha: bytes, **kw) -> eip712.MediaRecord:
            self.nonce += 1
            return kit.record(owner, sha256=sha, nonce=self.nonce, **kw)

        def upload(self, owner: str, sha: bytes, **kw) -> BatchEntry:
            """What the gateway does for someone who sent the bytes: a record to sign, receipts bound to it."""
            self.uploaded.setdefault(sha, set()).add(owner)
            entry = kit.entry(self.fresh_record(owner, sha, **kw), keys[owner])
            self.seen.append(entry)
            return entry

        def note_proof(self, sha: bytes) -> None:
            block = int(app.proofDetail(sha).blockNumber)
            assert sha not in self.best or block <= self.best[sha], "proofOf moved to a later proof"
            self.best[sha] = block

        @rule(who=st.sampled_from([0, 1]), sha=st.sampled_from(SHA_POOL))
        def honest_direct(self, who, sha):
            owner = honest[who].address
            e = self.upload(owner, sha)
            contracts[owner].registerMedia(e.record.as_tuple(), e.signature, e.receipts, sender=honest[who])
            self.note_proof(sha)

        @rule(who=st.sampled_from([0, 1]), sha=st.sampled_from(SHA_POOL))
        def honest_batched(self, who, sha):
            # The sequencer puts no two owners of the same bytes in one batch.
            if any(p.record.sha256 == sha and p.record.owner != honest[who].address for p in self.pending):
                return
            self.pending.append(self.upload(honest[who].address, sha, max_fee=0))

        @precondition(lambda self: self.pending)
        @rule()
        def close_batch(self):
            tree, batch, _ = kit.anchor(self.pending, sequencer)
            self.anchored += [(e, tree.proof(i), batch) for i, e in enumerate(self.pending)]
            self.pending = []

        @precondition(lambda self: self.anchored)
        @rule(data=st.data())
        def anyone_reveals(self, data):
            entry, path, batch = data.draw(st.sampled_from(self.anchored))
            sha = entry.record.sha256
            current = app.proofDetail(sha)
            args = (entry.record.as_tuple(), entry.signature, entry.receipts_hash, path, batch)
            if current.owner != ZERO_ADDRESS and current.blockNumber <= batch:
                with ape.reverts(app.MediaAppProofNotEarlier):
                    app.revealProof(*args, sender=attacker)
                return
            app.revealProof(*args, sender=attacker)
            self.note_proof(sha)

        @precondition(lambda self: self.seen)
        @rule(data=st.data())
        def attacker_lifts_receipts(self, data):
            victim = data.draw(st.sampled_from(self.seen))
            record = self.fresh_record(attacker.address, victim.record.sha256)
            signature = kit.sign_record(record, keys[attacker.address])
            with ape.reverts(topology.TopologyBadReceiptSignature):
                contracts[attacker.address].registerMedia(
                    record.as_tuple(), signature, victim.receipts, sender=attacker
                )

        @precondition(lambda self: self.seen)
        @rule(data=st.data())
        def attacker_lists_victim_bytes_as_his_variant(self, data):
            victim = data.draw(st.sampled_from(self.seen))
            own_sha = bytes([0xEE]) * 31 + bytes([self.nonce % 256])  # bytes he really holds and uploads
            e = self.upload(attacker.address, own_sha)
            record = replace(
                e.record, variants=(eip712.MediaVariant("small", victim.record.sha256, "bafkreismall", 1),)
            )
            signature = kit.sign_record(record, keys[attacker.address])
            contracts[attacker.address].registerMedia(
                record.as_tuple(), signature, kit.receipts(record), sender=attacker
            )

        @precondition(lambda self: self.anchored)
        @rule(data=st.data())
        def attacker_reveals_a_victim_leaf_as_his(self, data):
            entry, path, batch = data.draw(st.sampled_from(self.anchored))
            record = self.fresh_record(attacker.address, entry.record.sha256, max_fee=0)
            signature = kit.sign_record(record, keys[attacker.address])
            with ape.reverts(app.MediaAppNotInBatch):
                app.revealProof(record.as_tuple(), signature, entry.receipts_hash, path, batch, sender=attacker)

        @precondition(lambda self: self.seen)
        @rule(data=st.data())
        def attacker_anchors_his_own_root(self, data):
            victim = data.draw(st.sampled_from(self.seen))
            with ape.reverts(app.MediaAppNotSequencer):
                kit.anchor([victim], attacker)

        @precondition(lambda self: self.seen)
        @rule(data=st.data())
        def attacker_replays_a_victims_signed_record(self, data):
            victim = data.draw(st.sampled_from(self.seen))
            target = contracts[victim.record.owner]
            # Sent again into the victim's own contract it is refused (a spent nonce, or an expired record).
            if target.nonceUsed(victim.record.nonce):
                with ape.reverts():
                    target.registerMedia(victim.record.as_tuple(), victim.signature, victim.receipts, sender=attacker)

        @rule()
        def time_passes_beyond_receipt_lifetime(self):
            chain.mine(timestamp=kit.now + RECEIPT_LIFETIME + 60)
            # Receipts seen so far are now dead: replaying one for fresh bytes of his own fails.
            if self.seen:
                old = self.seen[-1]
                attacker_contract = contracts[old.record.owner]
                if not attacker_contract.nonceUsed(old.record.nonce):
                    with ape.reverts():
                        attacker_contract.registerMedia(
                            old.record.as_tuple(), old.signature, old.receipts, sender=attacker
                        )

        @invariant()
        def proof_names_a_legitimate_uploader(self):
            for sha in SHA_POOL:
                proof = app.proofDetail(sha)
                if proof.owner == ZERO_ADDRESS:
                    continue
                assert proof.owner in self.uploaded.get(sha, set()), "proofOf names someone who never uploaded"
                assert proof.owner != attacker.address

        @invariant()
        def proof_is_the_earliest_recorded_and_monotone(self):
            for sha, block in self.best.items():
                assert int(app.proofDetail(sha).blockNumber) <= block

    run_state_machine_as_test(
        AttackedRegistry,
        settings=settings(
            max_examples=10,
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
