"""ProjectRegistry: projects with ids from owner and name, compare-and-swap commits (a stale or front-run commit
reverts with ProjectStaleVersion), every version restorable from events, read/write grants only the owner manages,
and the canRead/canWrite views the download service will ask. Ends with a stateful invariant test."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from mediaproof.sync.project import project_id

NONE, READ, WRITE = 0, 1, 2
CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
UINT64_MAX = 2**64 - 1


def manifest(n: int) -> tuple[bytes, str]:
    """A distinct (sha256, CID) head per n."""
    return keccak(text=f"manifest-{n}"), f"bafy-manifest-{n}"


@pytest.fixture(scope="module")
def projects(project, admin):
    return project.ProjectRegistry.deploy(sender=admin)


@pytest.fixture
def writer(accounts):
    return accounts[6]


@pytest.fixture
def reader(accounts):
    return accounts[7]


def create(projects, owner, name="holiday", private=True) -> bytes:
    tx = projects.createProject(name, private, sender=owner)
    return bytes(tx.decode_logs(projects.ProjectCreated)[0].projectId)


def test_create_project_id_is_owner_and_name_and_head_is_empty(projects, owner):
    tx = projects.createProject("robot-7 survey", True, sender=owner)
    (event,) = tx.decode_logs(projects.ProjectCreated)
    expected = project_id(owner.address, "robot-7 survey")
    assert bytes(event.projectId) == expected == bytes(projects.projectIdOf(owner, "robot-7 survey"))
    assert (event.owner, event.name, event.isPrivate) == (owner.address, "robot-7 survey", True)
    head = projects.head(expected)
    assert (head.owner, head.isPrivate, head.version) == (owner.address, True, 0)
    assert bytes(head.manifestSha256) == bytes(32) and head.manifestCid == ""
    assert projects.versionOf(expected) == 0


def test_create_project_refuses_reused_name_and_empty_name(projects, owner, other_owner):
    pid = create(projects, owner, "shared-name")
    with ape.reverts(projects.ProjectAlreadyExists, projectId=pid):
        projects.createProject("shared-name", False, sender=owner)
    # The same name under another owner is another project: nobody can squat on someone else's id.
    assert create(projects, other_owner, "shared-name") == project_id(other_owner.address, "shared-name") != pid
    with ape.reverts(projects.ProjectEmptyName):
        projects.createProject("", False, sender=owner)


def test_commit_moves_head_one_version_and_emits_it(projects, owner):
    pid = create(projects, owner)
    tx = projects.commit(pid, 0, keccak(text="m1"), CID, sender=owner)
    (event,) = tx.decode_logs(projects.ProjectCommitted)
    assert (bytes(event.projectId), event.version, bytes(event.manifestSha256)) == (pid, 1, keccak(text="m1"))
    assert (event.manifestCid, event.committer) == (CID, owner.address)
    head = projects.head(pid)
    assert (head.version, bytes(head.manifestSha256), head.manifestCid) == (1, keccak(text="m1"), CID)
    projects.commit(pid, 1, keccak(text="m2"), "bafy2", sender=owner)
    assert projects.versionOf(pid) == 2


def test_commit_stale_or_future_version_reverts_with_current(projects, owner):
    pid = create(projects, owner)
    projects.commit(pid, 0, *manifest(1), sender=owner)
    for expected in (0, 2, UINT64_MAX):
        with ape.reverts(projects.ProjectStaleVersion, current=1):
            projects.commit(pid, expected, *manifest(9), sender=owner)


def test_commit_front_run_loser_reverts_stale_then_merges_and_wins(projects, owner, writer):
    """Two devices both built on version 1; whichever is mined second loses with the version to pull, and
    nothing it sent changed the head."""
    pid = create(projects, owner)
    projects.grant(pid, writer, WRITE, sender=owner)
    projects.commit(pid, 0, *manifest(1), sender=owner)
    projects.commit(pid, 1, *manifest(2), sender=writer)  # the writer's device got in first
    with ape.reverts(projects.ProjectStaleVersion, current=2):
        projects.commit(pid, 1, *manifest(3), sender=owner)
    assert bytes(projects.head(pid).manifestSha256) == manifest(2)[0]
    projects.commit(pid, 2, *manifest(4), sender=owner)  # after pull + merge
    assert projects.versionOf(pid) == 3


def test_replayed_commit_is_stale(projects, owner, writer):
    pid = create(projects, owner)
    projects.grant(pid, writer, WRITE, sender=owner)
    tx = projects.commit(pid, 0, *manifest(1), sender=writer)
    projects.commit(pid, 1, *manifest(2), sender=owner)
    # The writer's exact old call, sent again by anyone allowed: it names version 0, which is gone for good.
    for sender in (writer, owner):
        with ape.reverts(projects.ProjectStaleVersion, current=2):
            projects.commit(pid, 0, *manifest(1), sender=sender)
    assert tx.decode_logs(projects.ProjectCommitted)[0].version == 1


def test_commit_refused_for_strangers_readers_and_revoked_writers(projects, owner, writer, reader, stranger):
    pid = create(projects, owner)
    projects.grant(pid, reader, READ, sender=owner)
    projects.grant(pid, writer, WRITE, sender=owner)
    for outsider in (stranger, reader):
        with ape.reverts(projects.ProjectNotWriter, projectId=pid, caller=outsider.address):
            projects.commit(pid, 0, *manifest(1), sender=outsider)
    projects.commit(pid, 0, *manifest(1), sender=writer)
    projects.revoke(pid, writer, sender=owner)
    with ape.reverts(projects.ProjectNotWriter, projectId=pid, caller=writer.address):
        projects.commit(pid, 1, *manifest(2), sender=writer)
    # Downgraded to Read: still no commits.
    projects.grant(pid, writer, READ, sender=owner)
    with ape.reverts(projects.ProjectNotWriter):
        projects.commit(pid, 1, *manifest(2), sender=writer)
    assert projects.versionOf(pid) == 1


def test_commit_refuses_empty_or_oversized_manifest(projects, owner):
    pid = create(projects, owner)
    limit = projects.MAX_CID_LENGTH()
    for sha, cid in ((bytes(32), CID), (keccak(text="m"), ""), (keccak(text="m"), "b" * (limit + 1))):
        with ape.reverts(projects.ProjectInvalidManifest):
            projects.commit(pid, 0, sha, cid, sender=owner)
    projects.commit(pid, 0, keccak(text="m"), "b" * limit, sender=owner)


def test_unknown_project_reverts_or_reads_false(projects, owner):
    pid = project_id(owner.address, "never created")
    for call in (
        lambda: projects.commit(pid, 0, *manifest(1), sender=owner),
        lambda: projects.grant(pid, owner, READ, sender=owner),
        lambda: projects.revoke(pid, owner, sender=owner),
        lambda: projects.head(pid),
        lambda: projects.versionOf(pid),
    ):
        with ape.reverts(projects.ProjectUnknown, projectId=pid):
            call()
    assert not projects.canRead(pid, owner) and not projects.canWrite(pid, owner)


def test_grant_and_revoke_only_by_owner(projects, owner, writer, stranger):
    pid = create(projects, owner)
    projects.grant(pid, writer, WRITE, sender=owner)
    for outsider in (stranger, writer):  # a write grantee may commit, never share
        with ape.reverts(projects.ProjectNotOwner, projectId=pid, caller=outsider.address):
            projects.grant(pid, stranger, WRITE, sender=outsider)
        with ape.reverts(projects.ProjectNotOwner, projectId=pid, caller=outsider.address):
            projects.revoke(pid, writer, sender=outsider)


def test_grant_refuses_zero_address_owner_and_role_none(projects, owner, writer):
    pid = create(projects, owner)
    with ape.reverts(projects.ProjectInvalidGrantee, grantee=ZERO_ADDRESS):
        projects.grant(pid, ZERO_ADDRESS, WRITE, sender=owner)
    with ape.reverts(projects.ProjectInvalidGrantee, grantee=owner.address):
        projects.grant(pid, owner, READ, sender=owner)
    with ape.reverts(projects.ProjectInvalidRole):
        projects.grant(pid, writer, NONE, sender=owner)
    with ape.reverts():  # not a ProjectRole at all: the ABI decoder refuses it
        projects.grant(pid, writer, 3, sender=owner)
    assert projects.roleOf(pid, writer) == NONE


def test_grant_replaces_role_and_revoke_emits(projects, owner, writer):
    pid = create(projects, owner)
    tx = projects.grant(pid, writer, READ, sender=owner)
    (event,) = tx.decode_logs(projects.ProjectAccessGranted)
    assert (bytes(event.projectId), event.grantee, event.role) == (pid, writer.address, READ)
    projects.grant(pid, writer, WRITE, sender=owner)
    assert projects.roleOf(pid, writer) == WRITE
    tx = projects.revoke(pid, writer, sender=owner)
    (event,) = tx.decode_logs(projects.ProjectAccessRevoked)
    assert (bytes(event.projectId), event.grantee) == (pid, writer.address)
    assert projects.roleOf(pid, writer) == NONE
    with ape.reverts(projects.ProjectNotGranted, projectId=pid, grantee=writer.address):
        projects.revoke(pid, writer, sender=owner)


def test_can_read_and_can_write_private_and_public(projects, owner, writer, reader, stranger):
    private = create(projects, owner, "private", True)
    public = create(projects, owner, "public", False)
    for pid in (private, public):
        projects.grant(pid, reader, READ, sender=owner)
        projects.grant(pid, writer, WRITE, sender=owner)
    expected = {  # account: (canRead private, canWrite private, canRead public, canWrite public)
        owner: (True, True, True, True),
        writer: (True, True, True, True),
        reader: (True, False, True, False),
        stranger: (False, False, True, False),
    }
    for account, rights in expected.items():
        got = (
            projects.canRead(private, account),
            projects.canWrite(private, account),
            projects.canRead(public, account),
            projects.canWrite(public, account),
        )
        assert got == rights, account
    projects.revoke(private, reader, sender=owner)
    assert not projects.canRead(private, reader)


def test_every_version_restorable_from_events(projects, owner, writer, chain):
    pid = create(projects, owner, "history")
    other = create(projects, owner, "other")  # another project's commits must not leak into this history
    projects.grant(pid, writer, WRITE, sender=owner)
    start = chain.blocks.height
    committed = {}
    for version in range(1, 5):
        sender = owner if version % 2 else writer
        projects.commit(pid, version - 1, *manifest(version), sender=sender)
        projects.commit(other, version - 1, *manifest(100 + version), sender=owner)
        committed[version] = (*manifest(version), sender.address)
    logs = projects.ProjectCommitted.query("*", start_block=start)
    history = {
        int(row.event_arguments["version"]): (
            bytes(row.event_arguments["manifestSha256"]),
            row.event_arguments["manifestCid"],
            row.event_arguments["committer"],
        )
        for row in logs.itertuples()
        if bytes(row.event_arguments["projectId"]) == pid
    }
    assert history == committed


def test_invariant_versions_heads_and_grants(projects, chain, accounts):
    """Random sequences of commits (fresh or stale, by anyone), grants and revokes against ghost state: a project's
    version only ever moves +1 per successful commit; only the owner and current write grantees change the head;
    a revocation or downgrade takes effect at once; the views agree with the ghost grants."""
    owner = accounts[2]
    others = [accounts[i] for i in (3, 5, 6, 7)]
    everyone = [owner, *others]
    pids = [create(projects, owner, "invariant-a", True), create(projects, owner, "invariant-b", False)]

    class ProjectMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            self.version = dict.fromkeys(pids, 0)
            self.head = dict.fromkeys(pids, (bytes(32), ""))
            self.roles: dict[bytes, dict[str, int]] = {pid: {} for pid in pids}
            self.counter = 0

        def teardown(self):
            if hasattr(self, "snapshot"):
                chain.restore(self.snapshot)

        def writes(self, pid: bytes, account) -> bool:
            return account == owner or self.roles[pid].get(account.address) == WRITE

        def check_views(self, p: int, account) -> None:
            """The views agree with the ghost grants for the account a rule just changed."""
            pid, private = pids[p], p == 0
            role = self.roles[pid].get(account.address, NONE)
            assert projects.roleOf(pid, account) == role
            assert projects.canWrite(pid, account) == (role == WRITE)
            assert projects.canRead(pid, account) == (not private or role != NONE)

        @rule(p=st.sampled_from([0, 1]), who=st.sampled_from(range(len(everyone))), lag=st.sampled_from([0, 0, 1, -1]))
        def commit(self, p, who, lag):
            pid, sender = pids[p], everyone[who]
            current = self.version[pid]
            expected = max(current - lag, 0) if lag >= 0 else current + 1
            self.counter += 1
            sha, cid = manifest(self.counter)
            if not self.writes(pid, sender):
                with ape.reverts(projects.ProjectNotWriter):
                    projects.commit(pid, expected, sha, cid, sender=sender)
            elif expected != current:
                with ape.reverts(projects.ProjectStaleVersion, current=current):
                    projects.commit(pid, expected, sha, cid, sender=sender)
            else:
                tx = projects.commit(pid, expected, sha, cid, sender=sender)
                assert tx.decode_logs(projects.ProjectCommitted)[0].version == current + 1
                self.version[pid] = current + 1
                self.head[pid] = (sha, cid)

        @rule(p=st.sampled_from([0, 1]), who=st.sampled_from(range(len(others))), role=st.sampled_from([READ, WRITE]))
        def grant(self, p, who, role):
            projects.grant(pids[p], others[who], role, sender=owner)
            self.roles[pids[p]][others[who].address] = role
            self.check_views(p, others[who])

        @rule(p=st.sampled_from([0, 1]), who=st.sampled_from(range(len(others))))
        def revoke(self, p, who):
            pid, grantee = pids[p], others[who]
            if grantee.address in self.roles[pid]:
                projects.revoke(pid, grantee, sender=owner)
                del self.roles[pid][grantee.address]
            else:
                with ape.reverts(projects.ProjectNotGranted):
                    projects.revoke(pid, grantee, sender=owner)
            self.check_views(p, grantee)

        @rule(p=st.sampled_from([0, 1]), who=st.sampled_from(range(len(others))), to=st.sampled_from(range(4)))
        def grantee_tries_to_share(self, p, who, to):
            with ape.reverts(projects.ProjectNotOwner):
                projects.grant(pids[p], others[to], WRITE, sender=others[who])

        @invariant()
        def version_and_head_match_ghost(self):
            for pid in pids:
                head = projects.head(pid)
                assert head.version == self.version[pid]
                assert (bytes(head.manifestSha256), head.manifestCid) == self.head[pid]

    run_state_machine_as_test(
        ProjectMachine,
        settings=settings(
            max_examples=8,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
