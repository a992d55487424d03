"""Interoperability test: a Python gRPC client against the real iplus-ingest binary,
which checks enterprises against a real iplus-registry.

Generates Python stubs from the project's protos with protoc, starts a private
redis-server, the registry and ingestion (with --registry_target pointing at the
registry) on free loopback ports, registers enterprises through the registry, then runs
the steps below in order: a bidirectional StreamObservations load mixing new values,
resends, revisions and rejects; unary ReportObservations; and the reads (GetSeries,
ScanIndicator, GetObservationHistory, GetCoverage, GetDataVersions, ListChanges).
Finally both services are stopped with SIGTERM, which must exit 0.

Usage:
  ingest_interop_test.py --registry BIN --ingest BIN --redis_server BIN --protoc BIN
      --grpc_python_plugin BIN --proto_root DIR --googleapis DIR --protobuf_include DIR
"""

import argparse
import datetime
import os
import sys
import tempfile
import threading
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
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]

RPC_TIMEOUT_S = 10.0
STREAM_TIMEOUT_S = 60.0
# Batches the stream client keeps in flight before it waits for an acknowledgement.
STREAM_WINDOW = 2

ENTERPRISES = 50
PERIOD = "2022"
NEXT_PERIOD = "2023"
ENERGY = "energy_utilization_rate"       # number, [0, 100], plausible [10, 99]
CLOUD = "industry_cloud"                 # boolean
TURNOVER = "inventory_turnover"          # number, > 0

# Filled in by main() once the stubs exist and the stack is up.
grpc = None
pb = None
rpc = None
reg = None
reg_rpc = None
common = None
STACK = None


def _import_stubs():
    global grpc, pb, rpc, reg, reg_rpc, common
    import grpc as _grpc
    from iplus.common.v1 import common_pb2
    from iplus.ingest.v1 import ingest_pb2, ingest_pb2_grpc
    from iplus.registry.v1 import registry_pb2, registry_pb2_grpc
    grpc, common = _grpc, common_pb2
    pb, rpc = ingest_pb2, ingest_pb2_grpc
    reg, reg_rpc = registry_pb2, registry_pb2_grpc


def rid():
    return str(uuid.uuid4())


status_details = iplus_harness.status_details
bad_request_fields = iplus_harness.bad_request_fields


def future_year():
    # Two years ahead: never started in any time zone of the reporting calendar.
    return str(datetime.datetime.now(datetime.timezone.utc).year + 2)


def obs(report_id, code, indicator, period, number=None, boolean=None):
    o = pb.Observation(report_id=report_id, enterprise_code=code, indicator=indicator,
                       period=period)
    if number is not None:
        o.number_value = number
    if boolean is not None:
        o.bool_value = boolean
    return o


def energy_value(i):
    """The first value of enterprise i for ENERGY in PERIOD (inside the plausible band)."""
    return 40.0 + i * 0.5


# Expectation of one item: (outcome, revision, reject_reason, field).
def accepted(revision=1):
    return ("OUTCOME_ACCEPTED", revision, "REJECT_REASON_UNSPECIFIED", "")


def duplicate(revision):
    return ("OUTCOME_DUPLICATE", revision, "REJECT_REASON_UNSPECIFIED", "")


def revised(revision):
    return ("OUTCOME_REVISED", revision, "REJECT_REASON_UNSPECIFIED", "")


def rejected(reason, field):
    return ("OUTCOME_REJECTED", 0, "REJECT_REASON_" + reason, field)


class IngestInteropTest(unittest.TestCase):
    """Steps run in name order and build on each other's data."""

    codes = []          # registered enterprises, in registration order
    unknown_code = ""   # a valid credit code the registry does not know
    energy_now = {}     # code -> current ENERGY value in PERIOD
    energy_next = {}    # code -> current ENERGY value in NEXT_PERIOD

    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel(STACK.service("ingest").target)
        cls.stub = rpc.IngestServiceStub(cls.channel)
        cls.registry_channel = grpc.insecure_channel(STACK.service("registry").target)
        cls.registry = reg_rpc.RegistryServiceStub(cls.registry_channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.registry_channel.close()

    def assertRpcFails(self, code, fn, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def assertBadRequest(self, fn, request, field):
        err = self.assertRpcFails(grpc.StatusCode.INVALID_ARGUMENT, fn, request,
                                  timeout=RPC_TIMEOUT_S)
        st = status_details(err)
        self.assertIsNotNone(st, "no grpc-status-details-bin trailer")
        self.assertEqual(st.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn(field, bad_request_fields(st))

    def assertResults(self, results, expected, what):
        self.assertEqual(len(results), len(expected), what)
        for i, (r, (outcome, revision, reason, field)) in enumerate(zip(results, expected)):
            got = (pb.Outcome.Name(r.outcome), r.revision,
                   pb.RejectReason.Name(r.reject_reason), r.field)
            self.assertEqual(r.index, i, "%s item %d: index" % (what, i))
            self.assertEqual(got, (outcome, revision, reason, field),
                             "%s item %d: %s" % (what, i, r.message))
            if outcome == "OUTCOME_REJECTED":
                self.assertTrue(r.message, "%s item %d: a reject without a message" % (what, i))
                self.assertFalse(r.retryable, "%s item %d: retryable" % (what, i))

    # --- step 0: the catalogue and the enterprises ------------------------------------

    def test_00_catalogue_and_enterprises(self):
        resp = self.stub.ListIndicators(pb.ListIndicatorsRequest(), timeout=RPC_TIMEOUT_S)
        ids = [i.id for i in resp.indicators]
        self.assertEqual(ids, sorted(ids))
        for needed in (ENERGY, CLOUD, TURNOVER):
            self.assertIn(needed, ids)
        energy = self.stub.GetIndicator(pb.GetIndicatorRequest(id=ENERGY),
                                        timeout=RPC_TIMEOUT_S).indicator
        self.assertEqual(energy.value_type, pb.VALUE_TYPE_NUMBER)
        self.assertEqual(energy.granularity, pb.GRANULARITY_YEAR)
        self.assertEqual((energy.range.min, energy.range.max), (0.0, 100.0))

        regions = ["440300", "440106", "320500", "350100"]
        industries = ["C39", "C26", "C34"]
        requests, codes = [], []
        for i in range(ENTERPRISES):
            region = regions[i % len(regions)]
            code = uscc.make_code(region, uscc.body_for(4200000 + i * 7919))
            codes.append(code)
            requests.append(reg.CreateEnterpriseRequest(enterprise=reg.Enterprise(
                code=code, name="Ingest Interop %02d" % i, region=region,
                industry=industries[i % len(industries)],
                ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_SMALL,
                kind=common.ORGANIZATION_KIND_MANUFACTURER)))
        resp = self.registry.BatchCreateEnterprises(
            reg.BatchCreateEnterprisesRequest(requests=requests, request_id=rid()),
            timeout=RPC_TIMEOUT_S * 3)
        self.assertEqual(len(resp.results), ENTERPRISES)
        for r in resp.results:
            self.assertEqual(r.status.code, 0, r.status.message)
        type(self).codes = codes
        type(self).unknown_code = uscc.make_code("440300", uscc.body_for(4199999))
        self.assertNotIn(self.unknown_code, codes)

    # --- step 1: the bidirectional stream ----------------------------------------------

    def test_01_stream_observations(self):
        codes = self.codes
        self.assertEqual(len(codes), ENTERPRISES, "enterprises were not registered")
        future = future_year()
        bad_check = codes[7][:17] + ("0" if codes[7][17] != "0" else "1")

        batches = []  # (batch_id, observations, expected item results or None)

        # 1: the first ENERGY value of every enterprise.
        batches.append((1, [obs("eur-%s-%d" % (PERIOD, i), c, ENERGY, PERIOD,
                                number=energy_value(i)) for i, c in enumerate(codes)],
                        [accepted()] * ENTERPRISES))
        # 2: a boolean indicator for every enterprise.
        cloud = [obs("cloud-%s-%d" % (PERIOD, i), c, CLOUD, PERIOD, boolean=(i % 3 == 0))
                 for i, c in enumerate(codes)]
        batches.append((2, cloud, [accepted()] * ENTERPRISES))
        # 3: resends, revisions and every kind of reject, mixed.
        mixed = [
            (obs("eur-%s-0" % PERIOD, codes[0], ENERGY, PERIOD, number=energy_value(0)),
             duplicate(1)),                                   # resend of a stored report
            (obs("eur-rev-1a", codes[1], ENERGY, PERIOD, number=77.25),
             revised(2)),                                     # a new value
            (obs("eur-same-2", codes[2], ENERGY, PERIOD, number=energy_value(2)),
             duplicate(1)),                                   # new report, same value
            (obs("eur-unknown", self.unknown_code, ENERGY, PERIOD, number=50.0),
             rejected("UNKNOWN_ENTERPRISE", "enterprise_code")),
            (obs("eur-range", codes[3], ENERGY, PERIOD, number=150.0),
             rejected("VALUE_OUT_OF_RANGE", "number_value")),
            (obs("eur-future", codes[3], ENERGY, future, number=50.0),
             rejected("FUTURE_PERIOD", "period")),
            (obs("cloud-number", codes[3], CLOUD, PERIOD, number=1.0),
             rejected("WRONG_VALUE_TYPE", "number_value")),
            (obs("eur-bool", codes[3], ENERGY, PERIOD, boolean=True),
             rejected("WRONG_VALUE_TYPE", "bool_value")),
            (obs("eur-novalue", codes[3], ENERGY, PERIOD),
             rejected("WRONG_VALUE_TYPE", "value")),
            (obs("turn-3", codes[3], TURNOVER, PERIOD, number=12.5),
             accepted()),                                     # another indicator
            (obs("eur-%s-5" % PERIOD, codes[5], ENERGY, PERIOD, number=66.0),
             rejected("REPORT_ID_REUSED", "report_id")),      # same id, other content
            (obs("eur-low-4", codes[4], ENERGY, PERIOD, number=5.0),
             revised(2)),                                     # valid but implausible
            (obs("eur-badcode", bad_check, ENERGY, PERIOD, number=50.0),
             rejected("MALFORMED_FIELD", "enterprise_code")),
            (obs("", codes[6], ENERGY, PERIOD, number=50.0),
             rejected("MISSING_FIELD", "report_id")),
            (obs("nothing-6", codes[6], "no_such_indicator", PERIOD, number=1.0),
             rejected("UNKNOWN_INDICATOR", "indicator")),
            (obs("eur-quarter", codes[6], ENERGY, PERIOD + "-Q1", number=50.0),
             rejected("WRONG_GRANULARITY", "period")),
            (obs("eur-badperiod", codes[6], ENERGY, "20x2", number=50.0),
             rejected("MALFORMED_PERIOD", "period")),
        ]
        batches.append((3, [o for o, _ in mixed], [e for _, e in mixed]))
        # 4: empty: refused in its acknowledgement, the stream stays open.
        batches.append((4, [], None))
        # 5: a third revision, and the next period for ten enterprises.
        fifth = [obs("eur-rev-1b", codes[1], ENERGY, PERIOD, number=81.5)]
        fifth += [obs("eur-%s-%d" % (NEXT_PERIOD, i), codes[i], ENERGY, NEXT_PERIOD,
                      number=50.0 + i) for i in range(10)]
        batches.append((5, fifth, [revised(3)] + [accepted()] * 10))
        # 6: batch 2 resent under its own id: every item a duplicate.
        batches.append((2, cloud, [duplicate(1)] * ENTERPRISES))

        window = threading.Semaphore(STREAM_WINDOW)
        sent, acks = [], []
        acks_when_sent = []
        gave_up = threading.Event()

        def requests():
            for batch_id, observations, _ in batches:
                if not window.acquire(timeout=STREAM_TIMEOUT_S) or gave_up.is_set():
                    return
                acks_when_sent.append(len(acks))
                sent.append(batch_id)
                yield pb.StreamObservationsRequest(batch_id=batch_id,
                                                   observations=observations)

        call = self.stub.StreamObservations(requests(), timeout=STREAM_TIMEOUT_S)
        try:
            for ack in call:  # acknowledgements as they come
                acks.append(ack)
                window.release()
        finally:
            gave_up.set()
            window.release()
        self.assertEqual(call.code(), grpc.StatusCode.OK, call.details())

        self.assertEqual(sent, [b[0] for b in batches])
        self.assertEqual([a.batch_id for a in acks], sent,
                         "acknowledgements not one per batch in the order sent")
        # With a window of STREAM_WINDOW, later batches went out only after acks came in.
        for k, seen in enumerate(acks_when_sent):
            self.assertGreaterEqual(seen, k + 1 - STREAM_WINDOW)

        for k, ((batch_id, observations, expected), ack) in enumerate(zip(batches, acks)):
            what = "ack %d (batch %d)" % (k, batch_id)
            if expected is None:
                self.assertEqual(ack.status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0],
                                 what)
                self.assertEqual(len(ack.results), 0, what)
                self.assertIn("observations", bad_request_fields(ack.status), what)
                continue
            self.assertEqual(ack.status.code, 0, "%s: %s" % (what, ack.status.message))
            self.assertResults(ack.results, expected, what)

        # The implausible value is stored and flagged, not rejected.
        low = acks[2].results[11]
        self.assertIn(pb.OUTLIER_KIND_HARD_RANGE, [f.kind for f in low.flags])

        now = {c: energy_value(i) for i, c in enumerate(codes)}
        now[codes[1]] = 81.5
        now[codes[4]] = 5.0
        type(self).energy_now = now
        type(self).energy_next = {codes[i]: 50.0 + i for i in range(10)}

    # --- step 2: unary reports -----------------------------------------------------------

    def test_02_report_observations(self):
        codes = self.codes
        self.assertTrue(self.energy_now, "the stream step did not complete")
        items = [obs("turn-%s-%d" % (PERIOD, i), codes[i], TURNOVER, PERIOD, number=2.0 + i)
                 for i in range(10, 20)]
        items.append(obs("turn-unknown", self.unknown_code, TURNOVER, PERIOD, number=3.0))
        items.append(obs("turn-zero", codes[20], TURNOVER, PERIOD, number=0.0))  # open range
        expected = [accepted()] * 10 + [rejected("UNKNOWN_ENTERPRISE", "enterprise_code"),
                                        rejected("VALUE_OUT_OF_RANGE", "number_value")]
        request_id = rid()
        first = self.stub.ReportObservations(
            pb.ReportObservationsRequest(observations=items, request_id=request_id),
            timeout=RPC_TIMEOUT_S)
        self.assertResults(first.results, expected, "report")
        # The same request id replays the response.
        replay = self.stub.ReportObservations(
            pb.ReportObservationsRequest(observations=items, request_id=request_id),
            timeout=RPC_TIMEOUT_S)
        self.assertEqual(replay, first)
        # Without it, the report ids make every stored item a duplicate.
        again = self.stub.ReportObservations(
            pb.ReportObservationsRequest(observations=items), timeout=RPC_TIMEOUT_S)
        self.assertResults(again.results, [duplicate(1)] * 10 + expected[10:], "resend")

        self.assertBadRequest(self.stub.ReportObservations, pb.ReportObservationsRequest(),
                              "observations")

    # --- step 3: reads -------------------------------------------------------------------

    def test_03_get_series(self):
        code = self.codes[0]
        self.assertTrue(self.energy_next, "the stream step did not complete")

        def series(start, end=""):
            return list(self.stub.GetSeries(pb.GetSeriesRequest(
                enterprise_code=code, indicator=ENERGY,
                periods=common.PeriodRange(start=start, end=end)),
                timeout=RPC_TIMEOUT_S).observations)

        both = series("2020", "2024")
        self.assertEqual([o.period for o in both], [PERIOD, NEXT_PERIOD])
        self.assertEqual([o.number_value for o in both],
                         [self.energy_now[code], self.energy_next[code]])
        for o in both:
            self.assertEqual(o.enterprise_code, code)
            self.assertEqual(o.indicator, ENERGY)
            self.assertEqual(o.WhichOneof("value"), "number_value")
            self.assertEqual(o.revision, 1)
            self.assertTrue(o.reporter)
            self.assertGreater(o.report_time.seconds, 0)
        self.assertEqual(both[0].report_id, "eur-%s-0" % PERIOD)
        self.assertEqual(series("2020"), both)  # open end
        self.assertEqual([o.period for o in series(NEXT_PERIOD)], [NEXT_PERIOD])

        revised_code = self.codes[1]
        current = self.stub.GetSeries(pb.GetSeriesRequest(
            enterprise_code=revised_code, indicator=ENERGY,
            periods=common.PeriodRange(start=PERIOD, end=PERIOD)),
            timeout=RPC_TIMEOUT_S).observations
        self.assertEqual([(o.number_value, o.revision, o.report_id) for o in current],
                         [(81.5, 3, "eur-rev-1b")])

        cloud = self.stub.GetSeries(pb.GetSeriesRequest(
            enterprise_code=self.codes[3], indicator=CLOUD,
            periods=common.PeriodRange(start=PERIOD, end=PERIOD)),
            timeout=RPC_TIMEOUT_S).observations
        self.assertEqual([(o.WhichOneof("value"), o.bool_value) for o in cloud],
                         [("bool_value", True)])

    def test_04_scan_indicator(self):
        want = self.energy_now
        self.assertEqual(len(want), ENTERPRISES, "the stream step did not complete")
        batch_size = 7
        codes, values, versions, batches = [], [], set(), 0
        for batch in self.stub.ScanIndicator(
                pb.ScanIndicatorRequest(indicator=ENERGY, period=PERIOD,
                                        batch_size=batch_size), timeout=RPC_TIMEOUT_S):
            batches += 1
            self.assertEqual(len(batch.enterprise_codes), len(batch.values))
            self.assertLessEqual(len(batch.enterprise_codes), batch_size)
            codes.extend(batch.enterprise_codes)
            values.extend(batch.values)
            versions.add(batch.data_version)
        self.assertGreaterEqual(batches, -(-ENTERPRISES // batch_size))
        self.assertEqual(codes, sorted(want), "not every enterprise once, in code order")
        self.assertEqual(dict(zip(codes, values)), want)
        self.assertEqual(len(versions), 1, "data_version differs between batches")
        version = versions.pop()
        self.assertGreater(version, 0)
        dv = self.stub.GetDataVersions(pb.GetDataVersionsRequest(
            keys=[pb.DataKey(indicator=ENERGY, period=PERIOD)]), timeout=RPC_TIMEOUT_S)
        self.assertEqual(dv.versions[0].version, version)

        # Booleans are columns of 0 and 1.
        cloud = {}
        for batch in self.stub.ScanIndicator(
                pb.ScanIndicatorRequest(indicator=CLOUD, period=PERIOD), timeout=RPC_TIMEOUT_S):
            cloud.update(zip(batch.enterprise_codes, batch.values))
        self.assertEqual(cloud, {c: (1.0 if i % 3 == 0 else 0.0)
                                 for i, c in enumerate(self.codes)})

        # Nothing reported: no rows.
        empty = [r for b in self.stub.ScanIndicator(
            pb.ScanIndicatorRequest(indicator=ENERGY, period="2019"), timeout=RPC_TIMEOUT_S)
            for r in b.enterprise_codes]
        self.assertEqual(empty, [])

        with self.assertRaises(grpc.RpcError) as cm:
            list(self.stub.ScanIndicator(pb.ScanIndicatorRequest(
                indicator=ENERGY, period=PERIOD, batch_size=50001), timeout=RPC_TIMEOUT_S))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("batch_size", bad_request_fields(status_details(cm.exception)))

    def test_05_observation_history(self):
        self.assertTrue(self.energy_now, "the stream step did not complete")
        code = self.codes[1]
        history = self.stub.GetObservationHistory(pb.GetObservationHistoryRequest(
            enterprise_code=code, indicator=ENERGY, period=PERIOD),
            timeout=RPC_TIMEOUT_S).revisions
        self.assertEqual([r.revision for r in history], [1, 2, 3])
        self.assertEqual([r.report_id for r in history],
                         ["eur-%s-1" % PERIOD, "eur-rev-1a", "eur-rev-1b"])
        self.assertFalse(history[0].HasField("old_value"))
        self.assertEqual([r.new_value.number_value for r in history],
                         [energy_value(1), 77.25, 81.5])
        self.assertEqual([r.old_value.number_value for r in history[1:]],
                         [energy_value(1), 77.25])
        times = [r.report_time.seconds for r in history]
        self.assertEqual(times, sorted(times))
        self.assertGreater(times[0], 0)

        # A resend and an equal value left no revision behind.
        for i, want in ((0, 1), (2, 1), (5, 1)):
            h = self.stub.GetObservationHistory(pb.GetObservationHistoryRequest(
                enterprise_code=self.codes[i], indicator=ENERGY, period=PERIOD),
                timeout=RPC_TIMEOUT_S).revisions
            self.assertEqual(len(h), want, "enterprise %d" % i)
        nothing = self.stub.GetObservationHistory(pb.GetObservationHistoryRequest(
            enterprise_code=code, indicator=ENERGY, period="2019"),
            timeout=RPC_TIMEOUT_S).revisions
        self.assertEqual(len(nothing), 0)

    def test_06_coverage_and_versions(self):
        self.assertTrue(self.energy_next, "the stream step did not complete")
        resp = self.stub.GetCoverage(pb.GetCoverageRequest(
            indicator=ENERGY, periods=common.PeriodRange(start="2021", end=NEXT_PERIOD)),
            timeout=RPC_TIMEOUT_S)
        self.assertEqual([(p.period, p.reporters) for p in resp.periods],
                         [("2021", 0), (PERIOD, ENTERPRISES),
                          (NEXT_PERIOD, len(self.energy_next))])
        self.assertEqual(resp.periods[0].data_version, 0)

        keys = [pb.DataKey(indicator=ENERGY, period=p.period) for p in resp.periods]
        dv = self.stub.GetDataVersions(pb.GetDataVersionsRequest(keys=keys),
                                       timeout=RPC_TIMEOUT_S)
        self.assertEqual([(v.key.period, v.version) for v in dv.versions],
                         [(p.period, p.data_version) for p in resp.periods])
        self.assertGreater(dv.versions[1].version, 0)
        self.assertGreater(dv.versions[2].version, 0)

        changes = self.stub.ListChanges(pb.ListChangesRequest(after_version=0,
                                                              page_size=10000),
                                        timeout=RPC_TIMEOUT_S)
        self.assertFalse(changes.truncated)
        self.assertEqual(changes.ingest_version, dv.ingest_version)
        versions = [c.version for c in changes.changes]
        self.assertEqual(versions, sorted(set(versions)), "not strictly increasing")
        self.assertEqual(versions[-1], changes.ingest_version)
        last = {}
        for c in changes.changes:
            last[(c.key.indicator, c.key.period)] = c.data_version
        self.assertEqual(last.get((ENERGY, PERIOD)), dv.versions[1].version)
        self.assertEqual(last.get((ENERGY, NEXT_PERIOD)), dv.versions[2].version)

    # --- step 4: errors --------------------------------------------------------------

    def test_07_invalid_argument_names_the_field(self):
        self.assertBadRequest(self.stub.GetDataVersions, pb.GetDataVersionsRequest(), "keys")
        self.assertBadRequest(self.stub.GetDataVersions, pb.GetDataVersionsRequest(
            keys=[pb.DataKey(indicator=ENERGY, period=PERIOD),
                  pb.DataKey(indicator=ENERGY, period="20x2")]), "keys[1].period")
        self.assertBadRequest(self.stub.GetSeries, pb.GetSeriesRequest(
            enterprise_code=self.codes[0], indicator=ENERGY,
            periods=common.PeriodRange(start="2022-Q1")), "periods.start")
        self.assertBadRequest(self.stub.GetCoverage, pb.GetCoverageRequest(
            indicator=ENERGY, periods=common.PeriodRange(start="2023", end="2021")),
            "periods.end")
        self.assertRpcFails(grpc.StatusCode.NOT_FOUND, self.stub.GetIndicator,
                            pb.GetIndicatorRequest(id="no_such_indicator"),
                            timeout=RPC_TIMEOUT_S)


class ShutdownTest(unittest.TestCase):
    """Runs last: SIGTERM drains and exits 0, ingestion first, then the registry."""

    def test_sigterm_exits_zero(self):
        for name in ("ingest", "registry"):
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
    parser.add_argument("--registry", required=True)
    parser.add_argument("--ingest", required=True)
    parser.add_argument("--redis_server", required=True)
    parser.add_argument("--protoc", required=True)
    parser.add_argument("--grpc_python_plugin", required=True)
    parser.add_argument("--proto_root", required=True)
    parser.add_argument("--googleapis", required=True)
    parser.add_argument("--protobuf_include", required=True)
    args = parser.parse_args()

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
        ])
        return iplus_harness.run_suites(STACK, IngestInteropTest, ShutdownTest)


if __name__ == "__main__":
    sys.exit(main())
