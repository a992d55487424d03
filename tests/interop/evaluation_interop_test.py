"""Interoperability test: a Python gRPC client against the real iplus-evaluation binary,
next to a real iplus-registry and iplus-ingest.

Generates Python stubs from the project's protos with protoc, starts a private
redis-server, the registry, ingestion and evaluation (seeded with deploy/targets.json,
with --registry_target and --ingest_target pointing at the others) on free loopback
ports, registers two manufacturers and reports their development cycles for 2015 and
2017, then: GetScorecard (every seeded target, the development-cycle target worked out by
hand), Evaluate (served from the cache the scorecard filled; a bad period named in the
BadRequest details), the first message of WatchScorecard, and the push after a new
observation. Finally every service is stopped with SIGTERM, which must exit 0.

Usage:
  evaluation_interop_test.py --registry BIN --ingest BIN --evaluation BIN --targets_file FILE
      --redis_server BIN --protoc BIN --grpc_python_plugin BIN --proto_root DIR
      --googleapis DIR --protobuf_include DIR
"""

import argparse
import os
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
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]

RPC_TIMEOUT_S = 10.0
DEV = "product_dev_cycle_days"
SEEDED = ["dev-cycle", "energy-utilization", "industry-cloud-adoption", "inventory-turnover",
          "platform-coverage"]

# Filled in by main() once the stubs exist and the stack is up.
grpc = None
ev = None
ev_rpc = None
ing = None
ing_rpc = None
reg = None
reg_rpc = None
common = None
duration_pb2 = None
STACK = None


def _import_stubs():
    global grpc, ev, ev_rpc, ing, ing_rpc, reg, reg_rpc, common
    global duration_pb2
    import grpc as _grpc
    from google.protobuf import duration_pb2 as _duration
    from iplus.common.v1 import common_pb2
    from iplus.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
    from iplus.ingest.v1 import ingest_pb2, ingest_pb2_grpc
    from iplus.registry.v1 import registry_pb2, registry_pb2_grpc
    grpc, common, duration_pb2 = _grpc, common_pb2, _duration
    ev, ev_rpc = evaluation_pb2, evaluation_pb2_grpc
    ing, ing_rpc = ingest_pb2, ingest_pb2_grpc
    reg, reg_rpc = registry_pb2, registry_pb2_grpc


status_details = iplus_harness.status_details
bad_request_fields = iplus_harness.bad_request_fields


def find(card, target_id):
    for e in card.evaluations:
        if e.target_id == target_id:
            return e
    return None


class EvaluationInteropTest(unittest.TestCase):
    """Runs in name order; each step builds on the previous one."""

    a = uscc.make_code("440103", uscc.body_for(5100001))
    b = uscc.make_code("440106", uscc.body_for(5100002))
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
        cls.stub = ev_rpc.EvaluationServiceStub(channel("evaluation"))

    @classmethod
    def tearDownClass(cls):
        for ch in cls.channels:
            ch.close()

    def report(self, code, period, value):
        """Reports one development cycle; retried while ingest's enterprise cache has not
        yet seen a newly registered enterprise."""
        type(self).reports += 1
        request = ing.ReportObservationsRequest(observations=[ing.Observation(
            report_id="eval-interop-%d" % self.reports, enterprise_code=code, indicator=DEV,
            period=period, number_value=value)])
        deadline = time.monotonic() + 10
        while True:
            r = self.ingest.ReportObservations(request, timeout=RPC_TIMEOUT_S).results[0]
            if r.outcome != ing.OUTCOME_REJECTED:
                return
            self.assertLess(time.monotonic(), deadline, "rejected: %s" % r.message)
            time.sleep(0.05)

    def scorecard_when(self, predicate, what):
        deadline = time.monotonic() + 15
        while True:
            card = self.stub.GetScorecard(ev.GetScorecardRequest(period="2017"),
                                          timeout=RPC_TIMEOUT_S).scorecard
            if predicate(card):
                return card
            self.assertLess(time.monotonic(), deadline, what)
            time.sleep(0.05)

    def test_00_data(self):
        requests = [reg.CreateEnterpriseRequest(enterprise=reg.Enterprise(
            code=code, name="Evaluation Interop %s" % code, region=region, industry="C34",
            ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_MEDIUM,
            key_enterprise=True, kind=common.ORGANIZATION_KIND_MANUFACTURER))
            for code, region in ((self.a, "440103"), (self.b, "440106"))]
        resp = self.registry.BatchCreateEnterprises(
            reg.BatchCreateEnterprisesRequest(requests=requests, request_id=str(uuid.uuid4())),
            timeout=RPC_TIMEOUT_S)
        for r in resp.results:
            self.assertEqual(r.status.code, 0, r.status.message)
        self.report(self.a, "2015", 100)
        self.report(self.b, "2015", 200)
        self.report(self.a, "2017", 85)
        self.report(self.b, "2017", 180)

    def test_01_get_scorecard(self):
        card = self.scorecard_when(
            lambda c: find(c, "dev-cycle") and find(c, "dev-cycle").coverage.current_reporters == 2,
            "the observations never reached the scorecard")
        self.assertEqual([e.target_id for e in card.evaluations], SEEDED)
        self.assertEqual(card.period, "2017")
        dev = find(card, "dev-cycle")
        # Matched panel A, B: base (100 + 200) / 2 = 150, current (85 + 180) / 2 = 132.5,
        # target 150 x 0.88 = 132, progress 17.5 / 18; the line through (2015, 150) and
        # (2017, 132.5) reaches 123.75 at 2018, past the target: on track.
        self.assertAlmostEqual(dev.baseline_value, 150, places=9)
        self.assertAlmostEqual(dev.current_value, 132.5, places=9)
        self.assertAlmostEqual(dev.target_value, 132, places=9)
        self.assertAlmostEqual(dev.progress, 17.5 / 18, places=9)
        self.assertAlmostEqual(dev.forecast_value, 123.75, places=9)
        self.assertEqual(dev.status, ev.EVALUATION_STATUS_ON_TRACK)
        self.assertEqual(dev.panel_mode, ev.PANEL_MODE_MATCHED)
        self.assertEqual(dev.coverage.population, 2)
        self.assertEqual([p.period for p in dev.points], ["2015", "2017"])
        self.assertEqual(find(card, "energy-utilization").status,
                         ev.EVALUATION_STATUS_INSUFFICIENT_DATA)
        self.assertGreater(dev.computed_time.seconds, 0)

    def test_02_evaluate(self):
        e = self.stub.Evaluate(ev.EvaluateRequest(target_id="dev-cycle", period="2017"),
                               timeout=RPC_TIMEOUT_S).evaluation
        self.assertTrue(e.cached, "the scorecard's result was not reused")
        self.assertAlmostEqual(e.current_value, 132.5, places=9)
        self.assertEqual(e.data_versions.target_etag, "r1")
        self.assertEqual([v.period for v in e.data_versions.ingest_versions],
                         ["2015", "2016", "2017"])
        # A scope narrows the population: Guangzhou's Tianhe district holds A alone.
        e = self.stub.Evaluate(ev.EvaluateRequest(
            target_id="dev-cycle", period="2017", scope=common.Scope(region_prefix="440103")),
            timeout=RPC_TIMEOUT_S).evaluation
        self.assertEqual(e.coverage.population, 1)
        self.assertEqual(e.status, ev.EVALUATION_STATUS_ACHIEVED)  # 100 -> 85 <= 88
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Evaluate(ev.EvaluateRequest(target_id="dev-cycle", period="2017-Q3"),
                               timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        st = status_details(cm.exception)
        self.assertIsNotNone(st, "no grpc-status-details-bin trailer")
        self.assertIn("period", bad_request_fields(st))
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.Evaluate(ev.EvaluateRequest(target_id="no-such-target", period="2017"),
                               timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_03_watch_scorecard(self):
        stream = self.stub.WatchScorecard(ev.WatchScorecardRequest(
            period="2017", min_interval=duration_pb2.Duration(seconds=1)), timeout=60)
        try:
            first = next(stream)
            self.assertEqual([e.target_id for e in first.scorecard.evaluations], SEEDED)
            self.assertEqual(list(first.changed_target_ids), [])
            self.assertEqual(first.status.code, 0)
            self.assertAlmostEqual(find(first.scorecard, "dev-cycle").current_value, 132.5,
                                   places=9)
            # B revises its 2017 cycle: the next message names the one target it changed.
            self.report(self.b, "2017", 170)
            second = next(stream)
            self.assertEqual(list(second.changed_target_ids), ["dev-cycle"])
            self.assertAlmostEqual(find(second.scorecard, "dev-cycle").current_value, 127.5,
                                   places=9)
        finally:
            stream.cancel()


class ShutdownTest(unittest.TestCase):
    """Runs last: SIGTERM drains and exits 0, evaluation first."""

    def test_sigterm_exits_zero(self):
        for name in ("evaluation", "ingest", "registry"):
            svc = STACK.service(name)
            self.assertTrue(svc.process.alive(), "%s died during the tests" % name)
            started = time.monotonic()
            rc = svc.process.terminate(timeout=20.0)
            self.assertEqual(rc, 0, "%s exit code after SIGTERM (None: had to be killed)\n%s" %
                             (name, iplus_harness.tail(svc.process.log_path)))
            self.assertLess(time.monotonic() - started, 20.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("registry", "ingest", "evaluation", "targets_file", "redis_server", "protoc",
                 "grpc_python_plugin", "proto_root", "googleapis", "protobuf_include"):
        parser.add_argument("--" + flag, required=True)
    args = parser.parse_args()
    uscc.self_check()

    global STACK
    with tempfile.TemporaryDirectory(prefix="iplus-interop-") as tmp:
        iplus_harness.generate_stubs(
            args.protoc, args.grpc_python_plugin,
            [args.proto_root, args.googleapis, args.protobuf_include], PROTOS,
            os.path.join(tmp, "gen"))
        _import_stubs()
        STACK = iplus_harness.Stack(tmp, args.redis_server, [
            iplus_harness.Service("registry", args.registry, ["--log_level=info"]),
            iplus_harness.Service("ingest", args.ingest, ["--log_level=info"],
                                  links={"registry_target": "registry"}),
            iplus_harness.Service(
                "evaluation", args.evaluation,
                ["--log_level=info", "--targets_file=" + args.targets_file,
                 "--poll_interval_ms=50"],
                links={"registry_target": "registry", "ingest_target": "ingest"},
                env={"IPLUS_ALLOW_UNAUTHENTICATED": "true"}),
        ])
        return iplus_harness.run_suites(STACK, EvaluationInteropTest, ShutdownTest)


if __name__ == "__main__":
    sys.exit(main())
