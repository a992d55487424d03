"""Interoperability test: a Python gRPC client against the real iplus-funds binary, next to
a real iplus-registry, iplus-ingest and iplus-evaluation.

Generates Python stubs from the project's protos with protoc, starts a private redis-server
with the append-only file fsynced on every write (the funds service refuses anything
less), the four services on free loopback ports, registers two manufacturers and reports
their development cycles for 2015 and 2018 (one cut by 15 %, one by 5 %), then drives a
fund through its life: create (idempotent; a conflicting body and a malformed id refused),
capitalise, two projects with an unconditional and a conditioned milestone (-12 % of the
development cycle), commit, post, disburse (a replay with the same request id creates
nothing), a conditioned milestone whose beneficiary meets the rule and one that does not
(FAILED_PRECONDITION stating the measured and required values, nothing moved), the fund
and project statements, and the journal: read page by page, its SHA-256 chain recomputed
here from the documented canonical encoding (docs/funds.md) and compared with
VerifyJournal's head. A funds service pointed at a Redis without appendfsync always must
refuse to start. Finally every service is stopped with SIGTERM, which must exit 0.

Usage:
  funds_interop_test.py --registry BIN --ingest BIN --evaluation BIN --funds BIN
      --targets_file FILE --redis_server BIN --protoc BIN --grpc_python_plugin BIN
      --proto_root DIR --googleapis DIR --protobuf_include DIR
"""

import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iplus_harness  # noqa: E402
import uscc  # noqa: E402

PROTOS = [
    "iplus/common/v1/common.proto",
    "iplus/registry/v1/registry.proto",
    "iplus/ingest/v1/ingest.proto",
    "iplus/evaluation/v1/evaluation.proto",
    "iplus/funds/v1/funds.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]

RPC_TIMEOUT_S = 10.0
DEV = "product_dev_cycle_days"

grpc = None
fu = None
fu_rpc = None
ev = None
ing = None
ing_rpc = None
reg = None
reg_rpc = None
common = None
STACK = None
ARGS = None


def _import_stubs():
    global grpc, fu, fu_rpc, ev, ing, ing_rpc, reg, reg_rpc, common
    import grpc as _grpc
    from iplus.common.v1 import common_pb2
    from iplus.evaluation.v1 import evaluation_pb2
    from iplus.funds.v1 import funds_pb2, funds_pb2_grpc
    from iplus.ingest.v1 import ingest_pb2, ingest_pb2_grpc
    from iplus.registry.v1 import registry_pb2, registry_pb2_grpc
    grpc, common = _grpc, common_pb2
    fu, fu_rpc, ev = funds_pb2, funds_pb2_grpc, evaluation_pb2
    ing, ing_rpc = ingest_pb2, ingest_pb2_grpc
    reg, reg_rpc = registry_pb2, registry_pb2_grpc


status_details = iplus_harness.status_details
bad_request_fields = iplus_harness.bad_request_fields


def cny(fen):
    return common.Money(currency="CNY", fen=fen)


def rid():
    return str(uuid.uuid4())


# --- The journal's canonical encoding (docs/funds.md, "The journal"), written from the
# --- documentation alone: what a partner holding a head hash would run.

def _bytes_field(text):
    data = text.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def canonical_encoding(sequence, t):
    flags = ((1 if t.flags.linked else 0) | (2 if t.flags.pending else 0) |
             (4 if t.flags.post_pending_transfer else 0) |
             (8 if t.flags.void_pending_transfer else 0))
    timestamp_ns = t.timestamp.seconds * 1_000_000_000 + t.timestamp.nanos
    timeout_ns = t.timeout.seconds * 1_000_000_000 + t.timeout.nanos
    out = struct.pack(">BqqBqiiq", 1, sequence, timestamp_ns, flags, t.amount, t.ledger,
                      t.type, timeout_ns)
    for text in (t.id, t.debit_account_id, t.credit_account_id, t.pending_id, t.fund_id,
                 t.project_id, t.milestone_id, t.memo):
        out += _bytes_field(text)
    return out


def chain_hash(prev_hash_hex, sequence, transfer):
    return hashlib.sha256(prev_hash_hex.encode("ascii") +
                          canonical_encoding(sequence, transfer)).hexdigest()


class FundsInteropTest(unittest.TestCase):
    """Runs in name order; each step builds on the previous one."""

    meets = uscc.make_code("440103", uscc.body_for(5200001))
    misses = uscc.make_code("440106", uscc.body_for(5200002))
    fund_id = "gd-manufacturing-upgrade"
    reports = 0

    @classmethod
    def setUpClass(cls):
        cls.channels = []

        def channel(name):
            ch = grpc.insecure_channel(STACK.service(name).target)
            cls.channels.append(ch)
            return ch

        cls.registry = reg_rpc.RegistryServiceStub(channel("registry"))
        cls.ingest = ing_rpc.IngestServiceStub(channel("ingest"))
        cls.stub = fu_rpc.FundsServiceStub(channel("funds"))

    @classmethod
    def tearDownClass(cls):
        for ch in cls.channels:
            ch.close()

    def report(self, code, period, value):
        type(self).reports += 1
        request = ing.ReportObservationsRequest(observations=[ing.Observation(
            report_id="funds-interop-%d" % self.reports, enterprise_code=code, indicator=DEV,
            period=period, number_value=value)])
        deadline = time.monotonic() + 10
        while True:
            r = self.ingest.ReportObservations(request, timeout=RPC_TIMEOUT_S).results[0]
            if r.outcome != ing.OUTCOME_REJECTED:
                return
            self.assertLess(time.monotonic(), deadline, "rejected: %s" % r.message)
            time.sleep(0.05)

    def project(self, project_id, beneficiary):
        condition = fu.MilestoneCondition(
            indicator=DEV, baseline_period="2015", current_period="2018",
            rule=ev.Rule(relative_change=ev.RelativeChangeRule(change=-0.12)))
        return fu.Project(
            id=project_id, fund_id=self.fund_id, beneficiary_code=beneficiary,
            kind=fu.PROJECT_KIND_PILOT_PROJECT, title="Networked R&D pilot",
            budget=cny(1_000_000_00),
            milestones=[
                fu.Milestone(id="m1", title="platform live", amount=cny(300_000_00)),
                fu.Milestone(id="m2", title="development cycle cut by 12 %",
                             amount=cny(500_000_00), condition=condition),
            ])

    def statement(self):
        return self.stub.GetFundStatement(fu.GetFundStatementRequest(fund_id=self.fund_id),
                                          timeout=RPC_TIMEOUT_S).statement

    def test_00_data(self):
        requests = [reg.CreateEnterpriseRequest(enterprise=reg.Enterprise(
            code=code, name="Funds Interop %s" % code, region=region, industry="C34",
            ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_MEDIUM,
            key_enterprise=True, kind=common.ORGANIZATION_KIND_MANUFACTURER))
            for code, region in ((self.meets, "440103"), (self.misses, "440106"))]
        resp = self.registry.BatchCreateEnterprises(
            reg.BatchCreateEnterprisesRequest(requests=requests, request_id=rid()),
            timeout=RPC_TIMEOUT_S)
        for r in resp.results:
            self.assertEqual(r.status.code, 0, r.status.message)
        self.report(self.meets, "2015", 100)
        self.report(self.meets, "2018", 85)
        self.report(self.misses, "2015", 100)
        self.report(self.misses, "2018", 95)

    def test_01_create_fund(self):
        fund = fu.Fund(id=self.fund_id, name="Guangdong manufacturing upgrade fund",
                       sponsor=fu.Sponsor(region_code="440000"),
                       focus_areas=[fu.FOCUS_AREA_PLATFORMS, fu.FOCUS_AREA_PILOT_PROJECTS],
                       currency="CNY")
        first = self.stub.CreateFund(fu.CreateFundRequest(fund=fund, request_id=rid()),
                                     timeout=RPC_TIMEOUT_S)
        self.assertTrue(first.created)
        self.assertEqual(first.fund.id, self.fund_id)
        self.assertTrue(first.fund.fund_account_id)
        again = self.stub.CreateFund(fu.CreateFundRequest(fund=fund, request_id=rid()),
                                     timeout=RPC_TIMEOUT_S)
        self.assertFalse(again.created)
        changed = fu.Fund()
        changed.CopyFrom(fund)
        changed.name = "another name"
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreateFund(fu.CreateFundRequest(fund=changed, request_id=rid()),
                                 timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
        bad = fu.Fund()
        bad.CopyFrom(fund)
        bad.id = "Not Kebab"
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreateFund(fu.CreateFundRequest(fund=bad, request_id=rid()),
                                 timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        st = status_details(cm.exception)
        self.assertIsNotNone(st, "no grpc-status-details-bin trailer")
        self.assertIn("fund.id", bad_request_fields(st))

    def test_02_capitalise(self):
        request = fu.CapitaliseFundRequest(fund_id=self.fund_id, amount=cny(5_000_000_00),
                                           memo="provincial budget 2018", request_id=rid())
        t = self.stub.CapitaliseFund(request, timeout=RPC_TIMEOUT_S).transfers[0]
        self.assertEqual(t.amount, 5_000_000_00)
        self.assertEqual(t.type, fu.IATI_TRANSACTION_TYPE_INCOMING_FUNDS)
        replay = self.stub.CapitaliseFund(request, timeout=RPC_TIMEOUT_S).transfers[0]
        self.assertEqual(replay.id, t.id)
        self.assertEqual(replay.journal_sequence, t.journal_sequence)
        self.assertEqual(self.statement().capital.fen, 5_000_000_00)
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CapitaliseFund(fu.CapitaliseFundRequest(
                fund_id=self.fund_id, amount=cny(-5), request_id=rid()), timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertTrue(any("amount" in f for f in bad_request_fields(
            status_details(cm.exception))))
        self.assertEqual(self.statement().capital.fen, 5_000_000_00)

    def test_03_projects_committed_and_posted(self):
        for project_id, code in (("pilot-meets", self.meets), ("pilot-misses", self.misses)):
            resp = self.stub.CreateProject(fu.CreateProjectRequest(
                project=self.project(project_id, code), request_id=rid()),
                timeout=RPC_TIMEOUT_S)
            self.assertTrue(resp.created)
            self.assertEqual(resp.project.status, fu.PROJECT_STATUS_ACTIVE)
            commit = self.stub.CommitToProject(fu.CommitToProjectRequest(
                project_id=project_id, amount=cny(1_000_000_00), request_id=rid()),
                timeout=RPC_TIMEOUT_S).transfers[0]
            self.assertTrue(commit.flags.pending)
            post = self.stub.PostCommitment(fu.PostCommitmentRequest(
                project_id=project_id, pending_transfer_id=commit.id, request_id=rid()),
                timeout=RPC_TIMEOUT_S).transfers[0]
            self.assertTrue(post.flags.post_pending_transfer)
            self.assertEqual(post.amount, 1_000_000_00)
        # Over budget: the project's budget is fully committed.
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CommitToProject(fu.CommitToProjectRequest(
                project_id="pilot-meets", amount=cny(1), request_id=rid()),
                timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        s = self.statement()
        self.assertEqual(s.posted.fen, 2_000_000_00)
        self.assertEqual(s.available.fen, 3_000_000_00)

    def test_04_disburse_unconditional_and_replay(self):
        request = fu.DisburseMilestoneRequest(project_id="pilot-meets", milestone_id="m1",
                                              request_id=rid())
        first = self.stub.DisburseMilestone(request, timeout=RPC_TIMEOUT_S)
        self.assertEqual(first.transfers[0].amount, 300_000_00)
        self.assertEqual(first.transfers[0].type, fu.IATI_TRANSACTION_TYPE_DISBURSEMENT)
        self.assertEqual(first.milestone.status, fu.MILESTONE_STATUS_DISBURSED)
        replay = self.stub.DisburseMilestone(request, timeout=RPC_TIMEOUT_S)
        self.assertEqual(replay.transfers[0].journal_sequence,
                         first.transfers[0].journal_sequence)
        self.assertEqual(self.statement().disbursed.fen, 300_000_00)

    def test_05_conditioned_milestone_met(self):
        resp = self.stub.DisburseMilestone(fu.DisburseMilestoneRequest(
            project_id="pilot-meets", milestone_id="m2", request_id=rid()),
            timeout=RPC_TIMEOUT_S)
        self.assertTrue(resp.check.meets)
        self.assertAlmostEqual(resp.check.measured_change, -0.15, places=9)
        self.assertAlmostEqual(resp.check.required, 88, places=9)
        self.assertEqual(resp.transfers[0].amount, 500_000_00)
        project = self.stub.GetProjectStatement(fu.GetProjectStatementRequest(
            project_id="pilot-meets"), timeout=RPC_TIMEOUT_S).statement
        self.assertEqual(project.disbursed.fen, 800_000_00)
        self.assertEqual(project.undisbursed.fen, 200_000_00)

    def test_06_conditioned_milestone_not_met_moves_nothing(self):
        before = self.statement()
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.DisburseMilestone(fu.DisburseMilestoneRequest(
                project_id="pilot-misses", milestone_id="m2", request_id=rid()),
                timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        message = cm.exception.details()
        # The measured change (-5 %) and what is required (<= 88) are stated.
        self.assertIn("95", message)
        self.assertIn("88", message)
        after = self.statement()
        self.assertEqual(after.disbursed.fen, before.disbursed.fen)
        self.assertEqual(after.journal_sequence, before.journal_sequence)

    def test_07_statement_adds_up(self):
        s = self.statement()
        self.assertEqual(s.capital.fen, 5_000_000_00)
        self.assertEqual(s.committed.fen, 0)
        self.assertEqual(s.posted.fen, 2_000_000_00)
        self.assertEqual(s.disbursed.fen, 800_000_00)
        self.assertEqual(s.available.fen, s.capital.fen + s.released.fen + s.clawed_back.fen -
                         s.posted.fen - s.committed.fen)

    def test_08_journal_chain_recomputed_in_python(self):
        entries, token = [], ""
        while True:
            page = self.stub.ListJournal(fu.ListJournalRequest(page_size=3, page_token=token),
                                         timeout=RPC_TIMEOUT_S)
            entries.extend(page.entries)
            token = page.next_page_token
            if not token:
                break
        # capitalise, 2 x (commit, post), 2 disbursements.
        self.assertEqual(len(entries), 7)
        prev = "0" * 64
        for i, e in enumerate(entries):
            self.assertEqual(e.sequence, i + 1)
            self.assertEqual(e.prev_hash, prev)
            self.assertEqual(chain_hash(prev, e.sequence, e.transfer), e.hash,
                             "entry %d does not hash as documented" % e.sequence)
            prev = e.hash
        verify = self.stub.VerifyJournal(fu.VerifyJournalRequest(), timeout=60)
        self.assertTrue(verify.ok, verify.discrepancy)
        self.assertEqual(verify.entries_checked, 7)
        self.assertEqual(verify.head_sequence, 7)
        self.assertEqual(verify.head_hash, prev)

    def test_09_refuses_redis_without_fsync_always(self):
        work = os.path.join(STACK.work_dir, "nondurable")
        os.makedirs(work, exist_ok=True)
        port = iplus_harness.free_port()
        redis = iplus_harness.Process("redis-nondurable", [
            ARGS.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec", "--dir", work],
            os.path.join(work, "redis.log"))
        try:
            iplus_harness.wait_redis(port, redis, time.monotonic() + 10)
            proc = subprocess.run(
                [ARGS.funds, "--grpc_address=127.0.0.1:%d" % iplus_harness.free_port(),
                 "--metrics_address=127.0.0.1:%d" % iplus_harness.free_port(),
                 "--redis_address=127.0.0.1:%d" % port, "--plaintext",
                 "--allow_unauthenticated",
                 "--registry_target=" + STACK.service("registry").target,
                 "--evaluation_target=" + STACK.service("evaluation").target],
                capture_output=True, text=True, timeout=30)
            self.assertNotEqual(proc.returncode, 0, "started on a Redis without fsync")
            self.assertIn("appendfsync", proc.stdout + proc.stderr)
        finally:
            redis.terminate()


class ShutdownTest(unittest.TestCase):
    """Runs last: SIGTERM drains and exits 0, funds first."""

    def test_sigterm_exits_zero(self):
        for name in ("funds", "evaluation", "ingest", "registry"):
            svc = STACK.service(name)
            self.assertTrue(svc.process.alive(), "%s died during the tests" % name)
            rc = svc.process.terminate(timeout=20.0)
            self.assertEqual(rc, 0, "%s exit code after SIGTERM (None: had to be killed)\n%s" %
                             (name, iplus_harness.tail(svc.process.log_path)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("registry", "ingest", "evaluation", "funds", "targets_file", "redis_server",
                 "protoc", "grpc_python_plugin", "proto_root", "googleapis",
                 "protobuf_include"):
        parser.add_argument("--" + flag, required=True)
    global ARGS, STACK
    ARGS = parser.parse_args()
    uscc.self_check()

    with tempfile.TemporaryDirectory(prefix="iplus-interop-") as tmp:
        iplus_harness.generate_stubs(
            ARGS.protoc, ARGS.grpc_python_plugin,
            [ARGS.proto_root, ARGS.googleapis, ARGS.protobuf_include], PROTOS,
            os.path.join(tmp, "gen"))
        _import_stubs()
        STACK = iplus_harness.Stack(tmp, ARGS.redis_server, [
            iplus_harness.Service("registry", ARGS.registry, ["--log_level=info"]),
            iplus_harness.Service("ingest", ARGS.ingest, ["--log_level=info"],
                                  links={"registry_target": "registry"}),
            iplus_harness.Service(
                "evaluation", ARGS.evaluation,
                ["--log_level=info", "--targets_file=" + ARGS.targets_file,
                 "--poll_interval_ms=50"],
                links={"registry_target": "registry", "ingest_target": "ingest"}),
            iplus_harness.Service(
                "funds", ARGS.funds, ["--log_level=info"],
                links={"registry_target": "registry", "evaluation_target": "evaluation"}),
        ], redis_flags=["--appendonly", "yes", "--appendfsync", "always"])
        return iplus_harness.run_suites(STACK, FundsInteropTest, ShutdownTest)


if __name__ == "__main__":
    sys.exit(main())
