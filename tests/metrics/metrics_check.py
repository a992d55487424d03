"""End-to-end check of the services' /metrics endpoints.

For every service given with --service NAME BINARY: starts it (free loopback ports, one
private redis-server shared by all; a service that calls another, such as ingestion
calling the registry, gets that service's address when both are given), makes a few
gRPC calls so the gRPC server and service series exist, fetches /metrics and checks the
expected series, runs the body through
`promtool check metrics` (which must exit 0 and print nothing), then lets a real
Prometheus server scrape every service and queries its HTTP API until the series are
there. Finally every service must exit 0 on SIGTERM.

Usage:
  metrics_check.py --service registry BIN [--service NAME BIN ...]
      [--service_flag NAME FLAG ...] --harness_dir DIR --redis_server BIN
      --promtool BIN --prometheus BIN --protoc BIN --grpc_python_plugin BIN
      --proto_root DIR --googleapis DIR --protobuf_include DIR
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

RPC_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 5.0
SCRAPE_DEADLINE_S = 40.0

harness = None  # iplus_harness, imported from --harness_dir


# --- Per-service knowledge ------------------------------------------------------------
#
# protos: what to generate stubs for; exercise(svc, stack) makes calls and returns the
# grpc_server_handled_total label sets (grpc_service, grpc_method, grpc_code[, grpc_type],
# unary when not given) with the minimum count each must have reached. links: flag ->
# another service whose gRPC target the flag gets when that service runs too (unless the
# flag is given with --service_flag). series: (name, {label: value}, minimum, maximum)
# that /metrics must have after the calls, the value summed over the matching samples; a
# minimum of None only asks for presence, a maximum of None for no upper bound. A service
# without an entry is only probed with the standard health check.

GOOGLE_RPC_PROTOS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def exercise_registry(svc, stack):
    import grpc
    import uscc
    from iplus.common.v1 import common_pb2 as common
    from iplus.registry.v1 import registry_pb2 as pb
    from iplus.registry.v1 import registry_pb2_grpc as rpc

    service = "iplus.registry.v1.RegistryService"
    codes = [uscc.make_code("440300", uscc.body_for(777 + i)) for i in range(3)]
    with grpc.insecure_channel(svc.target) as channel:
        stub = rpc.RegistryServiceStub(channel)
        for i, code in enumerate(codes):
            stub.CreateEnterprise(pb.CreateEnterpriseRequest(
                enterprise=pb.Enterprise(
                    code=code, name="Metrics Probe %d" % i, region="440300", industry="C39",
                    ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_SMALL,
                    kind=common.ORGANIZATION_KIND_MANUFACTURER),
                request_id=str(uuid.uuid4())), timeout=RPC_TIMEOUT_S)
        stub.GetEnterprise(pb.GetEnterpriseRequest(code=codes[0]), timeout=RPC_TIMEOUT_S)
        stub.ListEnterprises(pb.ListEnterprisesRequest(page_size=2), timeout=RPC_TIMEOUT_S)
        stub.CountEnterprises(pb.CountEnterprisesRequest(group_by=pb.DIMENSION_PROVINCE),
                              timeout=RPC_TIMEOUT_S)
        try:
            stub.CreateEnterprise(pb.CreateEnterpriseRequest(
                enterprise=pb.Enterprise(code=codes[0][:17] + "?", name="x")),
                timeout=RPC_TIMEOUT_S)
            raise AssertionError("an invalid CreateEnterprise succeeded")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
    return [
        ((service, "CreateEnterprise", "OK"), len(codes)),
        ((service, "CreateEnterprise", "InvalidArgument"), 1),
        ((service, "GetEnterprise", "OK"), 1),
        ((service, "ListEnterprises", "OK"), 1),
        ((service, "CountEnterprises", "OK"), 1),
    ]


def exercise_ingest(svc, stack):
    import grpc
    import uscc
    from iplus.common.v1 import common_pb2 as common
    from iplus.ingest.v1 import ingest_pb2 as pb
    from iplus.ingest.v1 import ingest_pb2_grpc as rpc
    from iplus.registry.v1 import registry_pb2 as reg
    from iplus.registry.v1 import registry_pb2_grpc as reg_rpc

    try:
        registry = stack.service("registry")
    except KeyError:
        raise RuntimeError("ingestion accepts observations only for enterprises of a "
                           "registry: give --service registry BIN too")
    service = "iplus.ingest.v1.IngestService"
    codes = [uscc.make_code("440300", uscc.body_for(8800 + i)) for i in range(3)]
    with grpc.insecure_channel(registry.target) as channel:
        stub = reg_rpc.RegistryServiceStub(channel)
        for i, code in enumerate(codes):
            stub.CreateEnterprise(reg.CreateEnterpriseRequest(
                enterprise=reg.Enterprise(
                    code=code, name="Ingest Metrics Probe %d" % i, region="440300",
                    industry="C39", ownership=common.OWNERSHIP_PRIVATE,
                    size=common.ENTERPRISE_SIZE_SMALL,
                    kind=common.ORGANIZATION_KIND_MANUFACTURER),
                request_id=str(uuid.uuid4())), timeout=RPC_TIMEOUT_S)

    def observation(report_id, code, indicator, value):
        return pb.Observation(report_id=report_id, enterprise_code=code,
                              indicator=indicator, period="2022", number_value=value)

    energy = [observation("metrics-eur-%d" % i, code, "energy_utilization_rate", 40.0 + i)
              for i, code in enumerate(codes)]
    energy.append(observation("metrics-unknown", codes[0], "no_such_indicator", 1.0))
    with grpc.insecure_channel(svc.target) as channel:
        stub = rpc.IngestServiceStub(channel)
        for attempt in range(2):  # the second time, every stored item is a duplicate
            resp = stub.ReportObservations(pb.ReportObservationsRequest(observations=energy),
                                           timeout=RPC_TIMEOUT_S)
            want = ([pb.OUTCOME_ACCEPTED, pb.OUTCOME_DUPLICATE][attempt],) * len(codes)
            got = tuple(r.outcome for r in resp.results)
            if got != want + (pb.OUTCOME_REJECTED,):
                raise AssertionError("ReportObservations outcomes %r" % (got,))
        turnover = [observation("metrics-turn-%d" % i, code, "inventory_turnover", 3.0 + i)
                    for i, code in enumerate(codes)]
        acks = list(stub.StreamObservations(
            iter([pb.StreamObservationsRequest(batch_id=1, observations=turnover)]),
            timeout=RPC_TIMEOUT_S))
        if [a.batch_id for a in acks] != [1] or acks[0].status.code != 0:
            raise AssertionError("StreamObservations acks %r" % (acks,))
        stub.GetSeries(pb.GetSeriesRequest(enterprise_code=codes[0],
                                           indicator="energy_utilization_rate"),
                       timeout=RPC_TIMEOUT_S)
        stub.GetDataVersions(pb.GetDataVersionsRequest(
            keys=[pb.DataKey(indicator="energy_utilization_rate", period="2022")]),
            timeout=RPC_TIMEOUT_S)
        try:
            stub.GetDataVersions(pb.GetDataVersionsRequest(), timeout=RPC_TIMEOUT_S)
            raise AssertionError("GetDataVersions without keys succeeded")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
    return [
        ((service, "ReportObservations", "OK"), 2),
        ((service, "StreamObservations", "OK", "bidi_stream"), 1),
        ((service, "GetSeries", "OK"), 1),
        ((service, "GetDataVersions", "OK"), 1),
        ((service, "GetDataVersions", "InvalidArgument"), 1),
    ]


def exercise_evaluation(svc, stack):
    import grpc
    import uscc
    from iplus.common.v1 import common_pb2 as common
    from iplus.evaluation.v1 import evaluation_pb2 as pb
    from iplus.evaluation.v1 import evaluation_pb2_grpc as rpc
    from iplus.ingest.v1 import ingest_pb2 as ing
    from iplus.ingest.v1 import ingest_pb2_grpc as ing_rpc
    from iplus.registry.v1 import registry_pb2 as reg
    from iplus.registry.v1 import registry_pb2_grpc as reg_rpc

    try:
        registry, ingest = stack.service("registry"), stack.service("ingest")
    except KeyError:
        raise RuntimeError("evaluation reads the registry and ingest: give --service "
                           "registry BIN and --service ingest BIN too")
    service = "iplus.evaluation.v1.EvaluationService"
    # Two key manufacturers with an innovation platform: one of two in 2015, both in 2017,
    # so platform-coverage (share >= 0.8, seeded from deploy/targets.json) is achieved.
    codes = [uscc.make_code("440300", uscc.body_for(9900 + i)) for i in range(2)]
    with grpc.insecure_channel(registry.target) as channel:
        stub = reg_rpc.RegistryServiceStub(channel)
        for i, code in enumerate(codes):
            stub.CreateEnterprise(reg.CreateEnterpriseRequest(
                enterprise=reg.Enterprise(
                    code=code, name="Evaluation Metrics Probe %d" % i, region="440300",
                    industry="C39", ownership=common.OWNERSHIP_PRIVATE,
                    size=common.ENTERPRISE_SIZE_SMALL, key_enterprise=True,
                    kind=common.ORGANIZATION_KIND_MANUFACTURER),
                request_id=str(uuid.uuid4())), timeout=RPC_TIMEOUT_S)
    observations = [
        ing.Observation(report_id="metrics-platform-%s-%d" % (period, i), enterprise_code=code,
                        indicator="innovation_platform", period=period,
                        bool_value=(period == "2017" or i == 1))
        for period in ("2015", "2017") for i, code in enumerate(codes)]
    with grpc.insecure_channel(ingest.target) as channel:
        stub = ing_rpc.IngestServiceStub(channel)
        deadline = time.monotonic() + 15
        while True:  # ingest learns new enterprises from the registry's events
            resp = stub.ReportObservations(ing.ReportObservationsRequest(
                observations=observations), timeout=RPC_TIMEOUT_S)
            if all(r.outcome != ing.OUTCOME_REJECTED for r in resp.results):
                break
            if time.monotonic() > deadline:
                raise AssertionError("observations rejected: %r" % (resp.results,))
            time.sleep(0.1)
    with grpc.insecure_channel(svc.target) as channel:
        stub = rpc.EvaluationServiceStub(channel)
        deadline = time.monotonic() + 15
        while True:  # the feed follows ingest's changes
            card = stub.GetScorecard(pb.GetScorecardRequest(period="2017"),
                                     timeout=RPC_TIMEOUT_S).scorecard
            scorecards = 1
            platform = [e for e in card.evaluations if e.target_id == "platform-coverage"]
            if platform and platform[0].coverage.current_reporters >= 2:
                break
            if time.monotonic() > deadline:
                raise AssertionError("the observations never reached the scorecard")
            time.sleep(0.1)
        for _ in range(2):  # the second from the cache
            stub.Evaluate(pb.EvaluateRequest(target_id="platform-coverage", period="2016"),
                          timeout=RPC_TIMEOUT_S)
        stub.Breakdown(pb.BreakdownRequest(target_id="platform-coverage", period="2017",
                                           dimension=pb.BREAKDOWN_DIMENSION_PROVINCE),
                       timeout=RPC_TIMEOUT_S)
        try:
            stub.Evaluate(pb.EvaluateRequest(target_id="platform-coverage", period="2017-Q1"),
                          timeout=RPC_TIMEOUT_S)
            raise AssertionError("an Evaluate of the wrong granularity succeeded")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
    # The target gauges are refreshed in the background (--gauge_interval_s=1 here).
    deadline = time.monotonic() + 20
    while True:
        _, _, body = http_get(svc.metrics_url)
        if 'iplus_target_status{province="all",target="platform-coverage"} 1' in body:
            break
        if time.monotonic() > deadline:
            raise AssertionError("no iplus_target_status of platform-coverage on /metrics")
        time.sleep(0.2)
    return [
        ((service, "GetScorecard", "OK"), scorecards),
        ((service, "Evaluate", "OK"), 2),
        ((service, "Evaluate", "InvalidArgument"), 1),
        ((service, "Breakdown", "OK"), 1),
    ]


def exercise_funds(svc, stack):
    import grpc
    import uscc
    from iplus.common.v1 import common_pb2 as common
    from iplus.funds.v1 import funds_pb2 as pb
    from iplus.funds.v1 import funds_pb2_grpc as rpc
    from iplus.registry.v1 import registry_pb2 as reg
    from iplus.registry.v1 import registry_pb2_grpc as reg_rpc

    try:
        registry = stack.service("registry")
    except KeyError:
        raise RuntimeError("funds checks beneficiaries in the registry: give --service "
                           "registry BIN too")
    service = "iplus.funds.v1.FundsService"
    code = uscc.make_code("440300", uscc.body_for(9950))
    with grpc.insecure_channel(registry.target) as channel:
        reg_rpc.RegistryServiceStub(channel).CreateEnterprise(reg.CreateEnterpriseRequest(
            enterprise=reg.Enterprise(
                code=code, name="Funds Metrics Probe", region="440300", industry="C39",
                ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_SMALL,
                kind=common.ORGANIZATION_KIND_MANUFACTURER),
            request_id=str(uuid.uuid4())), timeout=RPC_TIMEOUT_S)

    def cny(fen):
        return common.Money(currency="CNY", fen=fen)

    def rid():
        return str(uuid.uuid4())

    with grpc.insecure_channel(svc.target) as channel:
        stub = rpc.FundsServiceStub(channel)
        stub.CreateFund(pb.CreateFundRequest(fund=pb.Fund(
            id="metrics-fund", name="Metrics probe fund", sponsor=pb.Sponsor(national=True),
            focus_areas=[pb.FOCUS_AREA_PLATFORMS], currency="CNY"), request_id=rid()),
            timeout=RPC_TIMEOUT_S)
        stub.CreateProject(pb.CreateProjectRequest(project=pb.Project(
            id="metrics-project", fund_id="metrics-fund", beneficiary_code=code,
            kind=pb.PROJECT_KIND_PLATFORM, title="Metrics probe", budget=cny(1000),
            milestones=[pb.Milestone(id="m1", title="done", amount=cny(400))]),
            request_id=rid()), timeout=RPC_TIMEOUT_S)
        stub.CapitaliseFund(pb.CapitaliseFundRequest(
            fund_id="metrics-fund", amount=cny(5000), request_id=rid()), timeout=RPC_TIMEOUT_S)
        pending = stub.CommitToProject(pb.CommitToProjectRequest(
            project_id="metrics-project", amount=cny(1000), request_id=rid()),
            timeout=RPC_TIMEOUT_S).transfers[0]
        # Left pending: the gauge counts it until the post below.
        deadline = time.monotonic() + 15
        while True:
            _, _, body = http_get(svc.metrics_url)
            if re.search(r"^iplus_funds_pending_transfers 1$", body, re.M):
                break
            if time.monotonic() > deadline:
                raise AssertionError("iplus_funds_pending_transfers never showed the commitment")
            time.sleep(0.2)
        stub.PostCommitment(pb.PostCommitmentRequest(
            project_id="metrics-project", pending_transfer_id=pending.id, request_id=rid()),
            timeout=RPC_TIMEOUT_S)
        stub.DisburseMilestone(pb.DisburseMilestoneRequest(
            project_id="metrics-project", milestone_id="m1", request_id=rid()),
            timeout=RPC_TIMEOUT_S)
        # Over the fund's balance: one transfer refused for EXCEEDS_CREDITS.
        results = stub.CreateTransfers(pb.CreateTransfersRequest(transfers=[pb.Transfer(
            id="metrics-too-much", debit_account_id="fund:metrics-fund",
            credit_account_id="fund:metrics-fund:source", amount=10**9, ledger=1,
            type=pb.IATI_TRANSACTION_TYPE_EXPENDITURE)]), timeout=RPC_TIMEOUT_S).results
        if results[0].result != pb.CREATE_TRANSFER_RESULT_EXCEEDS_CREDITS:
            raise AssertionError("expected EXCEEDS_CREDITS, got %r" % results[0])
        verify = stub.VerifyJournal(pb.VerifyJournalRequest(), timeout=60)
        if not verify.ok:
            raise AssertionError("journal does not verify: %s" % verify.discrepancy)
        try:
            stub.CapitaliseFund(pb.CapitaliseFundRequest(fund_id="metrics-fund", amount=cny(0),
                                                         request_id=rid()), timeout=RPC_TIMEOUT_S)
            raise AssertionError("a zero capitalisation succeeded")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
    # The ledger gauges are refreshed in the background (every --expire_interval, 1 s).
    deadline = time.monotonic() + 15
    while True:
        _, _, body = http_get(svc.metrics_url)
        if (re.search(r"^iplus_funds_pending_transfers 0$", body, re.M) and
                re.search(r"^iplus_funds_journal_entries 4$", body, re.M)):
            break
        if time.monotonic() > deadline:
            raise AssertionError("the funds gauges never showed the posted ledger")
        time.sleep(0.2)
    return [
        ((service, "CapitaliseFund", "OK"), 1),
        ((service, "CapitaliseFund", "InvalidArgument"), 1),
        ((service, "DisburseMilestone", "OK"), 1),
        ((service, "VerifyJournal", "OK"), 1),
    ]


SERVICES = {
    "registry": {
        "protos": ["iplus/common/v1/common.proto", "iplus/registry/v1/registry.proto"],
        "exercise": exercise_registry,
        # Queried through Prometheus once it scrapes: (PromQL, minimum value).
        "prometheus": [
            ('grpc_server_handled_total{job="registry",grpc_method="CreateEnterprise",'
             'grpc_code="OK"}', 1),
        ],
    },
    "ingest": {
        "protos": ["iplus/common/v1/common.proto", "iplus/registry/v1/registry.proto",
                   "iplus/ingest/v1/ingest.proto"],
        "links": {"registry_target": "registry"},
        "exercise": exercise_ingest,
        "series": [
            ("iplus_ingest_observations_total", {"outcome": "accepted"}, 6, None),
            ("iplus_ingest_observations_total", {"outcome": "duplicate"}, 3, None),
            ("iplus_ingest_observations_total", {"outcome": "rejected"}, 2, None),
            ("iplus_ingest_batch_size_count", {}, 3, None),
            ("iplus_ingest_batch_size_bucket", {"le": "+Inf"}, 3, None),
            ("iplus_ingest_streams_total", {}, 1, None),
            ("iplus_ingest_streams_active", {}, 0, 0),
            ("iplus_ingest_registry_cache_lookups_total", {}, None, None),
            ("iplus_ingest_registry_cache_entries", {}, None, None),
        ],
        "prometheus": [
            ('grpc_server_handled_total{job="ingest",grpc_method="ReportObservations",'
             'grpc_code="OK"}', 1),
            ('iplus_ingest_observations_total{job="ingest",outcome="accepted"}', 1),
        ],
    },
    "evaluation": {
        "protos": ["iplus/common/v1/common.proto", "iplus/registry/v1/registry.proto",
                   "iplus/ingest/v1/ingest.proto", "iplus/evaluation/v1/evaluation.proto"],
        "links": {"registry_target": "registry", "ingest_target": "ingest"},
        # Accepted by the binary whether or not it has the flag yet (unknown IPLUS_
        # variables are ignored).
        "env": {"IPLUS_ALLOW_UNAUTHENTICATED": "true"},
        "exercise": exercise_evaluation,
        "series": [
            # 2015: one of two key manufacturers, 2017: both -> achieved, coverage 1.
            ("iplus_target_status", {"target": "platform-coverage", "province": "all"}, 1, 1),
            ("iplus_target_coverage_ratio", {"target": "platform-coverage", "province": "all"},
             1, 1),
            ("iplus_target_progress_ratio", {"target": "platform-coverage", "province": "all"},
             None, None),
            ("iplus_target_status", {"target": "platform-coverage", "province": "440000"},
             None, None),
            ("iplus_evaluation_cache_requests_total", {"kind": "evaluate", "result": "hit"}, 1,
             None),
            ("iplus_evaluation_computed_total", {"kind": "evaluate"}, 1, None),
            ("iplus_evaluation_feed_ready", {}, 1, 1),
            ("iplus_evaluation_feed_lag_seconds", {"source": "ingest"}, None, None),
            ("iplus_evaluation_watch_streams_active", {}, 0, 0),
        ],
        "prometheus": [
            ('grpc_server_handled_total{job="evaluation",grpc_method="Evaluate",'
             'grpc_code="OK"}', 1),
            ('iplus_target_status{job="evaluation",target="platform-coverage",'
             'province="all"}', 1),
            ('iplus_target_coverage_ratio{job="evaluation",target="platform-coverage"}', 0),
            ('iplus_target_progress_ratio{job="evaluation",target="platform-coverage"}', 0),
        ],
    },
    "funds": {
        "protos": ["iplus/common/v1/common.proto", "iplus/registry/v1/registry.proto",
                   "iplus/evaluation/v1/evaluation.proto", "iplus/funds/v1/funds.proto"],
        "links": {"registry_target": "registry", "evaluation_target": "evaluation"},
        "exercise": exercise_funds,
        "series": [
            # capitalise, commit, post, disburse: four transfers applied; one refused.
            ("iplus_funds_transfers_total", {"result": "ok"}, 4, None),
            ("iplus_funds_transfers_total", {"result": "exceeds_credits"}, 1, None),
            ("iplus_funds_batch_size_count", {}, 5, None),
            ("iplus_funds_batch_size_bucket", {"le": "+Inf"}, 5, None),
            ("iplus_funds_pending_transfers", {}, 0, 0),
            ("iplus_funds_journal_entries", {}, 4, None),
            ("iplus_funds_verify_total", {"outcome": "ok"}, 1, 1),
        ],
        "prometheus": [
            ('grpc_server_handled_total{job="funds",grpc_method="DisburseMilestone",'
             'grpc_code="OK"}', 1),
            ('iplus_funds_transfers_total{job="funds",result="ok"}', 4),
            ('iplus_funds_journal_entries{job="funds"}', 4),
        ],
    },
}


# --- Prometheus text format ---------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_samples(text):
    """[(name, {label: value}, float)] of every sample line; raises on a malformed one."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("malformed sample line: %r" % line)
        labels, rest = {}, m.group(3) or ""
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                raise ValueError("malformed labels: %r" % line)
            labels[lm.group(1)] = re.sub(r'\\(.)', lambda c: {"n": "\n"}.get(c.group(1),
                                                                             c.group(1)),
                                         lm.group(2))
            pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def find(samples, name, **labels):
    return [(ls, v) for n, ls, v in samples
            if n == name and all(ls.get(k) == want for k, want in labels.items())]


# --- Checks ---------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.failed = []
        self.count = 0

    def check(self, ok, what, detail=""):
        self.count += 1
        print("%s  %s%s" % ("ok  " if ok else "FAIL", what, (": " + detail) if detail and not ok
                            else ""))
        sys.stdout.flush()
        if not ok:
            self.failed.append(what)
        return ok


def http_get(url):
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def check_endpoint(checks, svc, handled, series, promtool):
    status, ctype, body = http_get(svc.metrics_url)
    name = svc.name
    checks.check(status == 200, "%s: GET /metrics is 200" % name, str(status))
    checks.check(ctype.startswith("text/plain"), "%s: text/plain content type" % name, ctype)
    try:
        samples = parse_samples(body)
    except ValueError as e:
        checks.check(False, "%s: /metrics parses" % name, str(e))
        return
    checks.check(bool(find(samples, "grpc_server_started_total")),
                 "%s: grpc_server_started_total present" % name)
    checks.check(bool(find(samples, "grpc_server_handling_seconds_bucket")),
                 "%s: grpc_server_handling_seconds_bucket present" % name)
    checks.check(any(n.startswith("iplus_redis_command_duration_seconds") for n, _, _ in samples),
                 "%s: iplus_redis_command_duration_seconds present" % name)
    build = find(samples, "iplus_build_info", service=name)
    checks.check(len(build) == 1 and build[0][1] == 1.0,
                 '%s: iplus_build_info{service="%s"} 1' % (name, name), repr(build))
    for labels, minimum in handled:
        grpc_service, method, code = labels[:3]
        grpc_type = labels[3] if len(labels) > 3 else "unary"
        got = find(samples, "grpc_server_handled_total", grpc_type=grpc_type,
                   grpc_service=grpc_service, grpc_method=method, grpc_code=code)
        value = got[0][1] if len(got) == 1 else None
        checks.check(value is not None and value >= minimum,
                     '%s: grpc_server_handled_total{grpc_type="%s",grpc_service="%s",'
                     'grpc_method="%s",grpc_code="%s"} >= %d' % (name, grpc_type, grpc_service,
                                                                method, code, minimum),
                     "got %r" % (got,))
        if code == "OK":
            buckets = find(samples, "grpc_server_handling_seconds_bucket",
                           grpc_service=grpc_service, grpc_method=method, le="+Inf")
            checks.check(len(buckets) == 1 and buckets[0][1] >= minimum,
                         '%s: grpc_server_handling_seconds_bucket{grpc_method="%s",le="+Inf"} '
                         '>= %d' % (name, method, minimum), repr(buckets))

    for series_name, labels, minimum, maximum in series:
        got = find(samples, series_name, **labels)
        total = sum(v for _, v in got)
        selector = series_name + ("{%s}" % ",".join('%s="%s"' % kv
                                                     for kv in sorted(labels.items()))
                                  if labels else "")
        if minimum is None:
            checks.check(bool(got), "%s: %s present" % (name, selector))
            continue
        ok = bool(got) and total >= minimum and (maximum is None or total <= maximum)
        bound = (">= %g" % minimum if maximum is None else
                 "== %g" % minimum if maximum == minimum else
                 "in [%g, %g]" % (minimum, maximum))
        checks.check(ok, "%s: %s %s" % (name, selector, bound), "got %r" % (got,))

    proc = subprocess.run([promtool, "check", "metrics"], input=body.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    output = (proc.stdout + proc.stderr).decode(errors="replace").strip()
    checks.check(proc.returncode == 0 and not output,
                 "%s: promtool check metrics is clean" % name,
                 "exit %d: %s" % (proc.returncode, output))


def prometheus_query(base, query):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    _, _, body = http_get(url)
    data = json.loads(body)
    if data.get("status") != "success":
        raise RuntimeError("query %s failed: %s" % (query, body))
    return [float(r["value"][1]) for r in data["data"]["result"]]


def check_prometheus(checks, stack, prometheus, work_dir):
    lines = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s",
             "  evaluation_interval: 1s", "scrape_configs:"]
    for svc in stack.services:
        lines += ["  - job_name: %s" % svc.name,
                  "    static_configs:",
                  "      - targets: ['127.0.0.1:%d']" % svc.metrics_port]
    config = os.path.join(work_dir, "prometheus.yml")
    with open(config, "w") as f:
        f.write("\n".join(lines) + "\n")

    proc = None
    for attempt in range(3):
        port = harness.free_port()
        base = "http://127.0.0.1:%d" % port
        proc = harness.Process("prometheus", [
            prometheus, "--config.file=" + config,
            "--storage.tsdb.path=" + os.path.join(work_dir, "tsdb-%d" % attempt),
            "--web.listen-address=127.0.0.1:%d" % port],
            os.path.join(work_dir, "prometheus-%d.log" % attempt))
        try:
            harness.wait_http_ok(base + "/-/ready", proc, time.monotonic() + 30.0)
            break
        except RuntimeError as e:
            proc.terminate()
            proc = None
            error = e
    if proc is None:
        checks.check(False, "prometheus starts", str(error))
        return
    try:
        wanted = []
        for svc in stack.services:
            wanted.append(('up{job="%s"}' % svc.name, 1))
            wanted += SERVICES.get(svc.name, {}).get("prometheus", [])
        deadline = time.monotonic() + SCRAPE_DEADLINE_S
        pending = list(wanted)
        last = {}
        while pending and time.monotonic() < deadline:
            for query, minimum in list(pending):
                try:
                    values = prometheus_query(base, query)
                except (OSError, RuntimeError, ValueError) as e:
                    last[query] = str(e)
                    continue
                last[query] = values
                if values and all(v >= minimum for v in values):
                    pending.remove((query, minimum))
            if pending:
                time.sleep(0.5)
        for query, minimum in wanted:
            checks.check((query, minimum) not in pending,
                         "prometheus: %s >= %g" % (query, minimum),
                         "last answer %r\n%s" % (last.get(query), harness.tail(proc.log_path)))
        _, _, body = http_get(base + "/api/v1/targets")
        for target in json.loads(body)["data"]["activeTargets"]:
            checks.check(target.get("health") == "up" and not target.get("lastError"),
                         "prometheus: target %s healthy" % target.get("scrapeUrl"),
                         "%s %s" % (target.get("health"), target.get("lastError")))
    finally:
        proc.terminate()


def split_service_flags(argv):
    """Takes every `--service_flag NAME FLAG` out of argv: argparse would read a FLAG
    such as --log_level=debug as an option of its own. Returns (rest, [(NAME, FLAG)])."""
    rest, flags, i = [], [], 0
    while i < len(argv):
        if argv[i] == "--service_flag":
            if i + 2 >= len(argv):
                raise SystemExit("--service_flag needs a service name and a flag")
            flags.append((argv[i + 1], argv[i + 2]))
            i += 3
        else:
            rest.append(argv[i])
            i += 1
    return rest, flags


def main():
    global harness
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", nargs=2, action="append", required=True,
                        metavar=("NAME", "BINARY"))
    parser.add_argument("--service_flag", nargs=2, action="append", default=[],
                        metavar=("NAME", "FLAG"), help="extra flag for one service")
    parser.add_argument("--harness_dir", required=True)
    parser.add_argument("--redis_server", required=True)
    parser.add_argument("--promtool", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--protoc", required=True)
    parser.add_argument("--grpc_python_plugin", required=True)
    parser.add_argument("--proto_root", required=True)
    parser.add_argument("--googleapis", required=True)
    parser.add_argument("--protobuf_include", required=True)
    rest, service_flags = split_service_flags(sys.argv[1:])
    args = parser.parse_args(rest)
    args.service_flag = service_flags

    sys.path.insert(0, os.path.abspath(args.harness_dir))
    import iplus_harness
    harness = iplus_harness

    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="iplus-metrics-") as tmp:
        protos = list(GOOGLE_RPC_PROTOS)
        for name, _ in args.service:
            protos += [p for p in SERVICES.get(name, {}).get("protos", []) if p not in protos]
        harness.generate_stubs(args.protoc, args.grpc_python_plugin,
                               [args.proto_root, args.googleapis, args.protobuf_include],
                               protos, os.path.join(tmp, "gen"))
        names = [name for name, _ in args.service]
        services = []
        for name, binary in args.service:
            flags = [f for n, f in args.service_flag if n == name]
            given = {f.lstrip("-").split("=", 1)[0] for f in flags}
            links = {flag: other
                     for flag, other in SERVICES.get(name, {}).get("links", {}).items()
                     if other in names and flag not in given}
            services.append(harness.Service(name, binary, flags, links=links,
                                            env=SERVICES.get(name, {}).get("env")))
        # The funds service refuses a Redis whose append-only file is not fsynced on
        # every write.
        redis_flags = (["--appendonly", "yes", "--appendfsync", "always"]
                       if "funds" in names else None)
        stack = harness.Stack(tmp, args.redis_server, services, redis_flags=redis_flags)
        try:
            try:
                stack.start()
            except (RuntimeError, ValueError) as e:
                checks.check(False, "services start", str(e))
                return 1
            for svc in services:
                exercise = SERVICES.get(svc.name, {}).get("exercise")
                handled = []
                if exercise is not None:
                    try:
                        handled = exercise(svc, stack)
                    except Exception as e:  # report and go on with the other checks
                        checks.check(False, "%s: gRPC calls succeed" % svc.name, repr(e))
                harness.health_serving(svc.target)
                check_endpoint(checks, svc, handled,
                               SERVICES.get(svc.name, {}).get("series", []), args.promtool)
            check_prometheus(checks, stack, args.prometheus, tmp)
            # Services that call others stop first.
            for svc in reversed(stack.start_order()):
                rc = svc.process.terminate(timeout=20.0)
                checks.check(rc == 0, "%s: exits 0 on SIGTERM" % svc.name,
                             "exit %r\n%s" % (rc, harness.tail(svc.process.log_path)))
        except Exception as e:
            checks.check(False, "unexpected error", repr(e))
        finally:
            stack.stop()
            if checks.failed:
                for svc in services:
                    if svc.process is not None:
                        print("--- %s output (last lines) ---\n%s" % (
                            svc.name, harness.tail(svc.process.log_path, 40)))

    print("\n%d checks, %d failed" % (checks.count, len(checks.failed)))
    for what in checks.failed:
        print("FAILED: " + what)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
