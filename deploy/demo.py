#!/usr/bin/env python3
"""A short tour of a running iplus instance through its gRPC API.

Registers a handful of enterprises across provinces, links a platform operator to a
manufacturer, shows a rejected request with the field it names, pages through a
province, and counts enterprises by province; reports four years of the plan's
indicators; with --evaluation, prints the scorecard of the plan's targets for 2018.
Running it again is harmless: creation is idempotent on the credit code.
"""
import argparse
import sys
import time

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def org_check(body8):
    total = sum((int(c) if c.isdigit() else 10 + ord(c) - ord("A")) * w
                for c, w in zip(body8, ORG_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def credit_code(region6, n):
    """A valid 18-character Unified Social Credit Code (GB 32100-2015)."""
    body = "%08d" % n
    first17 = "91" + region6 + body + org_check(body)
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + ALPHABET[(31 - total % 31) % 31]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stubs", required=True, help="folder with the generated Python stubs")
    p.add_argument("--registry", default="127.0.0.1:50051")
    p.add_argument("--ingest", default="127.0.0.1:50052")
    p.add_argument("--evaluation", help="evaluation's address: print the scorecard at the end")
    p.add_argument("--list", metavar="REGION_PREFIX", help="only list this region and exit")
    p.add_argument("--scorecard", metavar="PERIOD",
                   help="only print the scorecard of this period (needs --evaluation) and exit")
    args = p.parse_args()
    if args.scorecard and not args.evaluation:
        p.error("--scorecard needs --evaluation")
    sys.path.insert(0, args.stubs)
    import grpc
    if args.scorecard:
        show_scorecard(grpc, args.evaluation, args.scorecard, wait_for_data=False)
        return
    from google.rpc import error_details_pb2, status_pb2
    from iplus.common.v1 import common_pb2 as common
    from iplus.registry.v1 import registry_pb2 as reg
    from iplus.registry.v1 import registry_pb2_grpc as reg_grpc

    channel = grpc.insecure_channel(args.registry)
    grpc.channel_ready_future(channel).result(timeout=15)
    stub = reg_grpc.RegistryServiceStub(channel)
    deadline = time.time() + 15
    while True:  # the service answers UNAVAILABLE until its Redis is reachable
        try:
            stub.ListEnterprises(reg.ListEnterprisesRequest(page_size=1), timeout=2)
            break
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.time() > deadline:
                raise

    def show(region_prefix):
        token, n = "", 0
        while True:
            page = stub.ListEnterprises(reg.ListEnterprisesRequest(
                scope=common.Scope(region_prefix=region_prefix), page_size=5, page_token=token))
            for e in page.enterprises:
                n += 1
                print("  %s  %-40s %s %s" % (e.code, e.name, e.region, e.industry))
            token = page.next_page_token
            if not token:
                return n

    if args.list is not None:
        print("enterprises under region %s: %d" % (args.list, show(args.list)))
        return

    M = common.ORGANIZATION_KIND_MANUFACTURER
    rows = [
        ("440305", "Shenzhen Smart Electronics", "C39", common.OWNERSHIP_PRIVATE, common.ENTERPRISE_SIZE_LARGE, True, M),
        ("440103", "Guangzhou Auto Parts", "C36", common.OWNERSHIP_JOINT_STOCK, common.ENTERPRISE_SIZE_MEDIUM, True, M),
        ("440604", "Foshan Home Appliances", "C38", common.OWNERSHIP_PRIVATE, common.ENTERPRISE_SIZE_LARGE, False, M),
        ("320505", "Suzhou Precision Machinery", "C34", common.OWNERSHIP_FOREIGN_INVESTED, common.ENTERPRISE_SIZE_MEDIUM, True, M),
        ("330106", "Hangzhou Textile Group", "C17", common.OWNERSHIP_STATE_OWNED, common.ENTERPRISE_SIZE_LARGE, True, M),
        ("110108", "Beijing Pharma Works", "C27", common.OWNERSHIP_STATE_OWNED, common.ENTERPRISE_SIZE_LARGE, True, M),
        ("510107", "Chengdu Food Processing", "C13", common.OWNERSHIP_PRIVATE, common.ENTERPRISE_SIZE_SMALL, False, M),
        ("440305", "Pearl River Industrial Cloud", "I64", common.OWNERSHIP_PRIVATE, common.ENTERPRISE_SIZE_MEDIUM, False,
         common.ORGANIZATION_KIND_PLATFORM_OPERATOR),
    ]
    batch = reg.BatchCreateEnterprisesRequest()
    codes = []
    for i, (region, name, industry, own, size, key, kind) in enumerate(rows):
        code = credit_code(region, 1000 + i)
        codes.append(code)
        batch.requests.add(enterprise=reg.Enterprise(
            code=code, name=name, region=region, industry=industry, ownership=own, size=size,
            key_enterprise=key, kind=kind))
    result = stub.BatchCreateEnterprises(batch)
    created = sum(1 for r in result.results if r.created)
    print("registered %d enterprises (%d new, %d already there)"
          % (len(result.results), created, len(result.results) - created))

    link = stub.CreateLink(reg.CreateLinkRequest(link=reg.Link(
        from_code=codes[-1], to_code=codes[0], type=reg.LINK_TYPE_PLATFORM_SERVICE,
        note="cloud MES and predictive maintenance")))
    print("linked %s -> %s (platform service)" % (link.link.from_code, link.link.to_code))

    try:
        stub.CreateEnterprise(reg.CreateEnterpriseRequest(enterprise=reg.Enterprise(
            code=credit_code("440305", 9999), name="Nowhere Ltd", region="990000", industry="C39",
            ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_SMALL, kind=M)))
    except grpc.RpcError as e:
        fields = []
        for key, value in e.trailing_metadata() or ():
            if key == "grpc-status-details-bin":
                st = status_pb2.Status.FromString(value)
                for d in st.details:
                    br = error_details_pb2.BadRequest()
                    if d.Unpack(br):
                        fields += [v.field for v in br.field_violations]
        print("a bad request is refused: %s %s (fields: %s)" % (e.code().name, e.details(), ", ".join(fields)))

    print("Guangdong (44), 5 per page:")
    show("44")
    counts = stub.CountEnterprises(reg.CountEnterprisesRequest(group_by=reg.DIMENSION_PROVINCE))
    print("enterprises by province (registry version %d):" % counts.registry_version)
    for g in counts.groups:
        print("  %s  %d" % (g.key, g.count))

    report_observations(grpc, args.ingest, codes[:-1])
    if args.evaluation:
        show_scorecard(grpc, args.evaluation, "2018", wait_for_data=True)


def show_scorecard(grpc, target, period, wait_for_data):
    """Prints every active target's evaluation for the period; with wait_for_data, first
    waits until evaluation has loaded the reports just made (it follows ingest's change
    stream)."""
    from iplus.evaluation.v1 import evaluation_pb2 as ev
    from iplus.evaluation.v1 import evaluation_pb2_grpc as ev_grpc

    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=15)
    stub = ev_grpc.EvaluationServiceStub(channel)
    deadline = time.time() + 30
    while True:  # UNAVAILABLE while it loads enterprises and columns
        try:
            card = stub.GetScorecard(ev.GetScorecardRequest(period=period), timeout=5).scorecard
            if not wait_for_data or all(e.coverage.current_reporters > 0
                                        for e in card.evaluations):
                break
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        if time.time() > deadline:
            raise SystemExit("evaluation did not answer with the reported data in time")
        time.sleep(0.2)
    print("scorecard %s (every active target, whole instance):" % card.period)
    for e in card.evaluations:
        def num(field):
            return ("%.4g" % getattr(e, field)) if e.HasField(field) else "-"
        status = ev.EvaluationStatus.Name(e.status).replace("EVALUATION_STATUS_", "")
        progress = ("%5.0f %%" % (100 * e.progress)) if e.HasField("progress") else "    -  "
        print("  %-24s %-17s base %-7s now %-7s target %-7s progress %s (expected %.0f %%), "
              "coverage %d/%d%s" % (
                  e.target_id, status, num("baseline_value"), num("current_value"),
                  num("target_value"), progress, 100 * e.expected_progress,
                  e.coverage.current_reporters, e.coverage.population,
                  ", cached" if e.cached else ""))


def report_observations(grpc, target, manufacturers):
    """Streams four years of the plan's indicators for the manufacturers, then shows a
    revision, a rejected report, an outlier flag and a column scan."""
    from iplus.common.v1 import common_pb2 as common
    from iplus.ingest.v1 import ingest_pb2 as ing
    from iplus.ingest.v1 import ingest_pb2_grpc as ing_grpc

    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=15)
    stub = ing_grpc.IngestServiceStub(channel)
    deadline = time.time() + 15
    while True:
        try:
            stub.ListIndicators(ing.ListIndicatorsRequest(), timeout=2)
            break
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNAVAILABLE or time.time() > deadline:
                raise

    def observation(code, indicator, year, value):
        o = ing.Observation(report_id="demo-%s-%s-%d" % (code[-6:], indicator, year),
                            enterprise_code=code, indicator=indicator, period=str(year))
        if isinstance(value, bool):
            o.bool_value = value
        else:
            o.number_value = value
        return o

    batches = []
    for year in range(2015, 2019):
        batch = ing.StreamObservationsRequest(batch_id=year)
        for i, code in enumerate(manufacturers):
            t = year - 2015
            batch.observations.extend([
                observation(code, "innovation_platform", year, (i + t) % 3 != 0),
                observation(code, "industry_cloud", year, t >= 2 or i % 2 == 0),
                observation(code, "product_dev_cycle_days", year, 200.0 - 10 * t - i),
                observation(code, "inventory_turnover", year, 5.0 + 0.4 * t + i * 0.1),
                observation(code, "energy_utilization_rate", year, 60.0 + t + i * 0.5),
            ])
        batches.append(batch)
    outcomes = {}
    deadline = time.time() + 20
    pending = batches
    while pending:
        retry = []
        for ack, batch in zip(stub.StreamObservations(iter(pending)), pending):
            if any(r.retryable for r in ack.results) and time.time() < deadline:
                retry.append(batch)  # e.g. the registry not reachable yet: resend later
                continue
            for r in ack.results:
                name = ing.Outcome.Name(r.outcome)
                outcomes[name] = outcomes.get(name, 0) + 1
        pending = retry
        if pending:
            time.sleep(0.5)
    print("streamed %d batches of observations: %s" % (len(batches), ", ".join(
        "%s %d" % (k, v) for k, v in sorted(outcomes.items()))))

    code = manufacturers[0]
    revised = stub.ReportObservations(ing.ReportObservationsRequest(observations=[
        ing.Observation(report_id="demo-correction-1", enterprise_code=code,
                        indicator="inventory_turnover", period="2018", number_value=6.9),
        ing.Observation(report_id="demo-bad-1", enterprise_code=code,
                        indicator="energy_utilization_rate", period="2018", number_value=140),
        ing.Observation(report_id="demo-outlier-1", enterprise_code=code,
                        indicator="product_dev_cycle_days", period="2019", number_value=900),
    ]))
    for r in revised.results:
        line = "  item %d: %s" % (r.index, ing.Outcome.Name(r.outcome))
        if r.outcome == ing.OUTCOME_REJECTED:
            line += " %s (%s: %s)" % (ing.RejectReason.Name(r.reject_reason), r.field, r.message)
        if r.revision:
            line += " revision %d" % r.revision
        for f in r.flags:
            line += " flagged %s score %.1f" % (ing.OutlierKind.Name(f.kind), f.score)
        print(line)
    history = stub.GetObservationHistory(ing.GetObservationHistoryRequest(
        enterprise_code=code, indicator="inventory_turnover", period="2018"))
    print("history of %s inventory_turnover 2018: %s" % (code, " -> ".join(
        "%g (rev %d)" % (h.new_value.number_value, h.revision) for h in history.revisions)))
    values = []
    for batch in stub.ScanIndicator(ing.ScanIndicatorRequest(indicator="energy_utilization_rate",
                                                             period="2018")):
        values.extend(batch.values)
    print("energy_utilization_rate 2018: %d reporters, mean %.2f %%" % (
        len(values), sum(values) / max(1, len(values))))


if __name__ == "__main__":
    main()
