"""Invariant test: random registrations of overlapping bytes by several owners, deletes and cluster status changes,
checked after every step against ghost state kept in Python."""

from __future__ import annotations

from dataclasses import replace

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from mediakit import CLUSTER_COUNT, private_key

from mediaproof import eip712

ACTIVE, DRAINING, DOWN = 1, 2, 3
# Few distinct hashes, so owners collide on the same bytes often (as originals and as variants).
SHA_POOL = [bytes([i]) * 32 for i in range(1, 5)]
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def test_invariant_first_registration_wins_and_never_changes(project, chain, app, topology, kit, accounts, admin):
    owners = [accounts[2], accounts[3], accounts[4]]
    for extra in owners[1:]:
        app.register(sender=extra, value=10**17)
    user_contracts = [project.UserMedia.at(app.userContract(o)) for o in owners]
    keys = [private_key(o) for o in owners]

    class MediaRegistryMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.first_owner: dict[bytes, tuple[str, int]] = {}  # sha256 -> (owner, block)
            self.media: dict[bytes, tuple[int, bytes]] = {}  # media id -> (owner index, sha256)
            self.deleted: set[bytes] = set()
            self.status = dict.fromkeys(range(1, CLUSTER_COUNT + 1), ACTIVE)

        def teardown(self):
            if hasattr(self, "snapshot"):
                chain.restore(self.snapshot)

        @rule(
            who=st.integers(0, len(owners) - 1),
            sha=st.sampled_from(SHA_POOL),
            variant=st.none() | st.sampled_from(SHA_POOL),
            clusters=st.sampled_from([(1, 2), (2, 3), (1, 3), (3, 1)]),
        )
        def register(self, who, sha, variant, clusters):
            record = kit.record(sha256=sha)
            if variant is not None:
                record = replace(record, variants=(eip712.MediaVariant("small", variant, "bafkreismall", 10),))
            user_media = user_contracts[who]
            signature = kit.sign_record(record, keys[who], user_media)
            receipts = kit.receipts(record, clusters)
            inactive = [c for c in clusters if self.status[c] != ACTIVE]
            if inactive:
                with ape.reverts(topology.TopologyClusterNotActive, clusterId=inactive[0]):
                    user_media.registerMedia(record.as_tuple(), signature, receipts, sender=owners[who])
                return
            tx = user_media.registerMedia(record.as_tuple(), signature, receipts, sender=owners[who])
            (event,) = tx.decode_logs(user_media.MediaRegistered)
            assert all(self.status[c] == ACTIVE for c in event.clusterIds)
            self.media[bytes(event.mediaId)] = (who, sha)
            for registered in {sha, variant} - {None}:
                self.first_owner.setdefault(registered, (owners[who].address, tx.block_number))

        @rule(data=st.data())
        def delete(self, data):
            if not self.media:
                return
            media_id = data.draw(st.sampled_from(sorted(self.media)))
            who, _sha = self.media[media_id]
            user_media = user_contracts[who]
            if media_id in self.deleted:
                with ape.reverts(user_media.UserMediaAlreadyDeleted):
                    user_media.deleteMedia(media_id, sender=owners[who])
                return
            user_media.deleteMedia(media_id, sender=owners[who])
            self.deleted.add(media_id)

        @rule(cluster=st.integers(1, CLUSTER_COUNT), status=st.sampled_from([ACTIVE, DRAINING, DOWN]))
        def set_status(self, cluster, status):
            topology.setClusterStatus(cluster, status, sender=admin)
            self.status[cluster] = status

        @invariant()
        def every_hash_has_its_first_owner(self):
            for sha in SHA_POOL:
                proof = app.proofOf(sha)
                if sha in self.first_owner:
                    owner, block = self.first_owner[sha]
                    assert (proof.owner, proof.blockNumber) == (owner, block)
                else:
                    assert proof.owner == ZERO_ADDRESS

        @invariant()
        def tombstoned_media_keep_their_proof(self):
            for media_id in self.deleted:
                who, sha = self.media[media_id]
                assert user_contracts[who].media(media_id).deleted
                assert app.proofOf(sha).owner != ZERO_ADDRESS

    run_state_machine_as_test(
        MediaRegistryMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
