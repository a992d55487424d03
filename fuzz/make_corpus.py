#!/usr/bin/python3
"""Writes the seed inputs of the proto fuzz targets into fuzz/corpus/.

    /usr/bin/python3 fuzz/make_corpus.py

Compiles the v1 protos to Python in a temporary directory with protoc (Debian's
python3-protobuf and protobuf-compiler), then writes serialized requests:
corpus/registry_request/* (a selector byte, 0 create, 1 update, 2 list, then the
request), corpus/ingest_request/* (a ReportObservationsRequest) and
corpus/evaluation_request/* (a 2-byte little-endian length, a CreateTargetRequest of that
length, then a BreakdownRequest) and corpus/funds_request/* (a sequence of requests, each a
selector byte, a 2-byte little-endian length and the serialized request). The codes, funds,
projects and pending transfers match the ones the fuzz targets set up. The output is
checked in; run again after a proto change.
"""
import importlib
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
GOOGLEAPIS = "/usr/share/gocode/src/github.com/gogo/googleapis"

LIVE = "91350100M000100Y43"      # in the registry target's store; known to the directory
ARCHIVED = "91110000100006485K"  # archived in the registry target's store
NEW = "91440100000000027U"       # valid, not stored
DIR_ARCHIVED = "914401000000000191"  # archived in the ingest target's directory


def compile_protos(out):
    protos = ["iplus/common/v1/common.proto", "iplus/registry/v1/registry.proto",
              "iplus/ingest/v1/ingest.proto", "iplus/evaluation/v1/evaluation.proto",
              "iplus/funds/v1/funds.proto"]
    subprocess.run(["protoc", f"--python_out={out}", f"-I{ROOT}/proto", f"-I{GOOGLEAPIS}",
                    "-I/usr/include", *protos], check=True)
    subprocess.run(["protoc", f"--python_out={out}", f"-I{GOOGLEAPIS}",
                    "google/rpc/status.proto"], check=True)
    sys.path.insert(0, out)
    return (importlib.import_module("iplus.registry.v1.registry_pb2"),
            importlib.import_module("iplus.ingest.v1.ingest_pb2"),
            importlib.import_module("iplus.common.v1.common_pb2"),
            importlib.import_module("iplus.evaluation.v1.evaluation_pb2"),
            importlib.import_module("iplus.funds.v1.funds_pb2"))


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def enterprise(reg, common, code, **kw):
    e = reg.Enterprise(code=code, name=kw.get("name", "Precision Parts Co."),
                       region=kw.get("region", "440103"), industry=kw.get("industry", "C34"),
                       ownership=common.OWNERSHIP_PRIVATE, size=common.ENTERPRISE_SIZE_MEDIUM,
                       key_enterprise=True, kind=common.ORGANIZATION_KIND_MANUFACTURER)
    e.labels["cluster"] = "pearl-river"
    return e


def registry_seeds(reg, common):
    def create(name, e):
        write("registry_request", name,
              b"\x00" + reg.CreateEnterpriseRequest(enterprise=e, request_id="r1")
              .SerializeToString())

    def update(name, e, paths, etag=""):
        req = reg.UpdateEnterpriseRequest(enterprise=e, etag=etag)
        req.update_mask.paths.extend(paths)
        write("registry_request", name, b"\x01" + req.SerializeToString())

    def list_(name, **kw):
        write("registry_request", name,
              b"\x02" + reg.ListEnterprisesRequest(**kw).SerializeToString())

    create("create_new", enterprise(reg, common, NEW))
    # The stored enterprise has region 350102: same code, other content.
    create("create_existing_other_content", enterprise(reg, common, LIVE))
    create("create_bad_code", enterprise(reg, common, "91350100M000100Y44"))
    create("create_bad_region_industry",
           enterprise(reg, common, NEW, region="990000", industry="C99"))
    update("update_name", enterprise(reg, common, LIVE, name="Renamed Co."), ["name"], "r1")
    update("update_region_industry", enterprise(reg, common, LIVE, region="350102",
                                                industry="C26"), ["region", "industry"])
    update("update_archived", enterprise(reg, common, ARCHIVED), ["name"])
    update("update_unknown_path", enterprise(reg, common, LIVE), ["code"])
    update("update_stale_etag", enterprise(reg, common, LIVE), ["size"], "r7")
    list_("list_all", page_size=1)
    list_("list_scoped", scope=common.Scope(region_prefix="35", industry_prefix="C3"),
          name_prefix="Prec", include_archived=True)
    list_("list_bad_token", page_size=5, page_token="not-a-token")


def ingest_seeds(ing):
    def obs(report_id, code, indicator, period, number=None, flag=None):
        o = ing.Observation(report_id=report_id, enterprise_code=code, indicator=indicator,
                            period=period)
        if number is not None:
            o.number_value = number
        if flag is not None:
            o.bool_value = flag
        return o

    def report(name, *observations):
        write("ingest_request", name,
              ing.ReportObservationsRequest(observations=observations,
                                            request_id="q1").SerializeToString())

    report("number", obs("a1", LIVE, "energy_utilization_rate", "2018", number=63.5))
    report("bool", obs("b1", LIVE, "industry_cloud", "2018", flag=True))
    report("revision_in_batch",
           obs("c1", LIVE, "inventory_turnover", "2017", number=4.0),
           obs("c2", LIVE, "inventory_turnover", "2017", number=4.5),
           obs("c3", "91110000100006485K", "inventory_turnover", "2017", number=9.0))
    report("history", *[obs(f"h{y}", LIVE, "product_dev_cycle_days", str(y),
                             number=100.0 + y % 7) for y in range(2010, 2019)],
           obs("h-out", LIVE, "product_dev_cycle_days", "2019", number=9000.0))
    report("rejections",
           obs("", LIVE, "energy_utilization_rate", "2018", number=50),
           obs("r2", "91350100M000100Y44", "energy_utilization_rate", "2018", number=50),
           obs("r3", DIR_ARCHIVED, "energy_utilization_rate", "2018", number=50),
           obs("r4", LIVE, "profit", "2018", number=50),
           obs("r5", LIVE, "energy_utilization_rate", "2018-Q2", number=50),
           obs("r6", LIVE, "energy_utilization_rate", "2020", number=50),
           obs("r7", LIVE, "energy_utilization_rate", "2018", number=150),
           obs("r8", LIVE, "energy_utilization_rate", "2018"),
           obs("r9", LIVE, "industry_cloud", "2018", number=1.0),
           obs("r10", NEW, "energy_utilization_rate", "2018", number=50))
    write("ingest_request", "empty", b"")


def evaluation_seeds(ev, common):
    def write_pair(name, target, request, request_id=""):
        t = ev.CreateTargetRequest(target=target, request_id=request_id).SerializeToString()
        write("evaluation_request", name,
              len(t).to_bytes(2, "little") + t + request.SerializeToString())

    def target(**kw):
        t = ev.Target(id=kw.get("id", "dev-cycle"), title=kw.get("title", "Dev cycle"),
                      indicator=kw.get("indicator", "product_dev_cycle_days"),
                      aggregation=kw.get("aggregation", ev.AGGREGATION_MEAN),
                      baseline_period=kw.get("baseline", "2015"),
                      deadline_period=kw.get("deadline", "2018"),
                      panel_mode=kw.get("panel_mode", ev.PANEL_MODE_UNSPECIFIED))
        t.population.kind = common.ORGANIZATION_KIND_MANUFACTURER
        t.population.key_only = kw.get("key_only", False)
        rule = kw.get("rule", ("relative", -0.12))
        if rule[0] == "relative":
            t.rule.relative_change.change = rule[1]
        elif rule[0] == "multiple":
            t.rule.multiple.multiple = rule[1]
        elif rule[0] == "absolute":
            t.rule.absolute.comparison = ev.COMPARISON_GE
            t.rule.absolute.value = rule[1]
        if "floor" in kw:
            t.coverage_floor = kw["floor"]
        return t

    def breakdown(period, dimension=ev.BREAKDOWN_DIMENSION_UNSPECIFIED, **scope):
        return ev.BreakdownRequest(target_id="dev-cycle", period=period, dimension=dimension,
                                   scope=common.Scope(**scope))

    write_pair("mean_matched", target(), breakdown("2017", ev.BREAKDOWN_DIMENSION_PROVINCE),
               request_id="3f1c")
    write_pair("median_all_reporters",
               target(aggregation=ev.AGGREGATION_MEDIAN, panel_mode=ev.PANEL_MODE_ALL_REPORTERS,
                      rule=("multiple", 1.25), floor=0.0),
               breakdown("2018", ev.BREAKDOWN_DIMENSION_INDUSTRY_DIVISION, region_prefix="44"))
    write_pair("share_true_key",
               target(id="platform-coverage", indicator="innovation_platform",
                      aggregation=ev.AGGREGATION_SHARE_TRUE, key_only=True,
                      rule=("absolute", 0.8)),
               breakdown("2016", ev.BREAKDOWN_DIMENSION_PREFECTURE, key_only=True),
               request_id="\x01\x02\x03")
    write_pair("count_true_quarters",
               target(id="cloud", indicator="industry_cloud",
                      aggregation=ev.AGGREGATION_COUNT_TRUE, rule=("multiple", 2),
                      baseline="2015-Q1", deadline="2018-Q4"),
               breakdown("2016-Q3", ev.BREAKDOWN_DIMENSION_SIZE, industry_prefix="C34"))
    write_pair("bad_target",
               target(id="Bad_Id", baseline="2015-13", rule=("relative", 0),
                      aggregation=ev.AGGREGATION_UNSPECIFIED),
               breakdown("2017"))
    write_pair("bad_scope_period", target(),
               breakdown("2014", ev.BREAKDOWN_DIMENSION_OWNERSHIP, region_prefix="4x",
                         industry_prefix="c26"))


# funds_request: request kinds (the selector byte is kind + 10 * (seconds to advance / 5)).
(TRANSFERS, CAPITALISE, COMMIT, POST, VOID, DISBURSE, RELEASE, CLAWBACK, CREATE_FUND,
 CREATE_PROJECT) = range(10)
INT64_MAX = 2**63 - 1


def funds_seeds(fd, common, ev):
    def record(kind, msg, advance_s=0):
        assert advance_s % 5 == 0 and advance_s // 5 <= 25
        data = msg.SerializeToString()
        return bytes([kind + 10 * (advance_s // 5)]) + len(data).to_bytes(2, "little") + data

    def seq(name, *records):
        write("funds_request", name, b"".join(records))

    def cny(fen):
        return common.Money(currency="CNY", fen=fen)

    def transfer(tid, debit="", credit="", amount=0, ledger=1,
                 type_=fd.IATI_TRANSACTION_TYPE_INCOMING_FUNDS, **kw):
        t = fd.Transfer(id=tid, debit_account_id=debit, credit_account_id=credit,
                        amount=amount, ledger=ledger, type=type_,
                        pending_id=kw.get("pending_id", ""), memo=kw.get("memo", ""),
                        fund_id=kw.get("fund_id", ""), project_id=kw.get("project_id", ""))
        for flag in ("linked", "pending", "post_pending_transfer", "void_pending_transfer"):
            if kw.get(flag):
                setattr(t.flags, flag, True)
        if "timeout_s" in kw:
            t.timeout.seconds = kw["timeout_s"]
        return t

    def batch(*transfers):
        return fd.CreateTransfersRequest(transfers=transfers)

    # The seeded ledger: funds alpha and beta; projects p-one, p-two (alpha), p-three (beta);
    # pending commit:seed-1 (p-one), commit:seed-2 (p-one, 60 s), commit:seed-4 (p-three,
    # 30 s); commit:seed-3 (p-two) posted.
    seq("capitalise",
        record(CAPITALISE, fd.CapitaliseFundRequest(fund_id="alpha", amount=cny(250000),
                                                    memo="first tranche", request_id="cap-1")),
        record(CAPITALISE, fd.CapitaliseFundRequest(fund_id="alpha", amount=cny(250000),
                                                    memo="first tranche", request_id="cap-1")))
    seq("commit_post_disburse_release",
        record(COMMIT, fd.CommitToProjectRequest(project_id="p-one", amount=cny(50000),
                                                 request_id="c1")),
        record(POST, fd.PostCommitmentRequest(project_id="p-one", pending_transfer_id="commit:c1",
                                              amount=cny(40000), request_id="p1")),
        record(DISBURSE, fd.DisburseMilestoneRequest(project_id="p-one", milestone_id="m1",
                                                     request_id="d1")),
        record(CLAWBACK, fd.ClawBackRequest(project_id="p-one", amount=cny(5000),
                                            milestone_id="m1", reason="audit", request_id="cb1")),
        record(RELEASE, fd.ReleaseCommitmentRequest(project_id="p-one", reason="done",
                                                    request_id="r1")))
    seq("post_seeded_void_seeded",
        record(POST, fd.PostCommitmentRequest(project_id="p-one",
                                              pending_transfer_id="commit:seed-1",
                                              request_id="p2")),
        record(VOID, fd.VoidCommitmentRequest(project_id="p-one",
                                              pending_transfer_id="commit:seed-2",
                                              reason="re-planned", request_id="v2")),
        record(DISBURSE, fd.DisburseMilestoneRequest(project_id="p-two", milestone_id="m1",
                                                     request_id="d2")),
        record(DISBURSE, fd.DisburseMilestoneRequest(project_id="p-two", milestone_id="m1",
                                                     request_id="d3")))
    commit_timeout = fd.CommitToProjectRequest(project_id="p-three", amount=cny(20000),
                                               request_id="c-short")
    commit_timeout.timeout.seconds = 10
    seq("commit_expires",
        record(COMMIT, commit_timeout),
        record(POST, fd.PostCommitmentRequest(project_id="p-three",
                                              pending_transfer_id="commit:c-short",
                                              request_id="late"), advance_s=15),
        record(POST, fd.PostCommitmentRequest(project_id="p-one",
                                              pending_transfer_id="commit:seed-2",
                                              request_id="later"), advance_s=60))
    seq("operations_malformed",
        record(CAPITALISE, fd.CapitaliseFundRequest(fund_id="alpha", amount=common.Money(
            currency="USD", fen=-5), memo="x" * 501)),
        record(COMMIT, fd.CommitToProjectRequest(project_id="p-one", amount=cny(1),
                                                 request_id="bad timeout",
                                                 timeout={"seconds": -1})),
        record(POST, fd.PostCommitmentRequest(project_id="p-one",
                                              pending_transfer_id="not a transfer id",
                                              request_id="p9")),
        record(DISBURSE, fd.DisburseMilestoneRequest(project_id="p-one", milestone_id="m9",
                                                     request_id="d9")),
        record(CAPITALISE, fd.CapitaliseFundRequest(fund_id="nope", amount=cny(10),
                                                    request_id="x" * 80)))
    seq("transfers_chain_ok", record(TRANSFERS, batch(
        transfer("t-src", "fund:beta:source", "fund:beta", 1000, linked=True),
        transfer("t-pend", "fund:beta", "project:p-three:commitment", 600, pending=True,
                 type_=fd.IATI_TRANSACTION_TYPE_OUTGOING_COMMITMENT, linked=True,
                 timeout_s=3600),
        transfer("t-post", pending_id="t-pend", amount=500, post_pending_transfer=True,
                 ledger=0, type_=0),
        transfer("t-void", pending_id="commit:seed-4", void_pending_transfer=True, ledger=0,
                 type_=0))))
    seq("transfers_post_void_exact", record(TRANSFERS, batch(
        transfer("x-post", pending_id="commit:seed-1", amount=200000, post_pending_transfer=True,
                 ledger=0, type_=0),
        transfer("x-void", "fund:alpha", "project:p-one:commitment", pending_id="commit:seed-2",
                 amount=100000, void_pending_transfer=True, ledger=1, type_=0),
        transfer("x-again", pending_id="commit:seed-1", post_pending_transfer=True, ledger=0,
                 type_=0))))
    seq("transfers_chain_fails_in_middle", record(TRANSFERS, batch(
        transfer("a1", "fund:alpha:source", "fund:alpha", 10, linked=True),
        transfer("a2", "project:p-two:commitment", "project:p-two:disbursed", 900000000,
                 type_=fd.IATI_TRANSACTION_TYPE_DISBURSEMENT, linked=True),
        transfer("a3", "fund:alpha:source", "fund:alpha", 20),
        transfer("a4", "fund:alpha:source", "fund:alpha", 30, linked=True))))
    seq("transfers_overflow", record(TRANSFERS, batch(
        transfer("o1", "ext:limited", "fund:alpha", INT64_MAX),
        transfer("o2", "fund:alpha:source", "fund:alpha", INT64_MAX),
        transfer("o3", "fund:beta:source", "fund:beta", 7, pending=True, timeout_s=INT64_MAX // 10**9),
        transfer("o4", "fund:alpha", "ext:limited", 5),
        transfer("o5", "fund:alpha:source", "ext:ledger2", 5),
        transfer("o6", "fund:alpha:source", "fund:alpha", 5, ledger=2))))
    seq("transfers_malformed", record(TRANSFERS, batch(
        transfer("bad id", "fund:alpha:source", "fund:alpha", 1),
        transfer("x" * 65, "fund:alpha:source", "fund:alpha", 1),
        transfer("m1", "fund:alpha:source", "fund:alpha", 1, pending=True,
                 post_pending_transfer=True),
        transfer("m2", "", "fund:alpha", 1),
        transfer("m3", "fund:alpha", "fund:alpha", 1),
        transfer("m4", "fund:alpha:source", "fund:alpha", 1, pending_id="commit:seed-1"),
        transfer("m5", "fund:alpha:source", "fund:alpha", 1, timeout_s=5),
        transfer("m6", "fund:alpha:source", "fund:alpha", -1),
        transfer("m7", "fund:alpha:source", "fund:alpha", 1, ledger=0),
        transfer("m8", "fund:alpha:source", "fund:alpha", 1, type_=99),
        transfer("m9", "fund:alpha:source", "fund:alpha", 1, post_pending_transfer=True),
        transfer("m10", "fund:alpha:source", "fund:alpha", 1, linked=True))))
    seq("transfers_duplicates", record(TRANSFERS, batch(
        transfer("dup", "fund:alpha:source", "fund:alpha", 5),
        transfer("dup", "fund:alpha:source", "fund:alpha", 5),
        transfer("dup", "fund:alpha:source", "fund:alpha", 6),
        transfer("capitalise:seed-alpha", "fund:alpha:source", "fund:alpha", 1000000),
        transfer("p-void", pending_id="commit:seed-3", void_pending_transfer=True),
        transfer("p-post", pending_id="capitalise:seed-beta", post_pending_transfer=True))))

    fund = fd.Fund(id="gamma", name="Gamma Fund", currency="CNY", description="Pilots",
                   sponsor=fd.Sponsor(region_code="440103"),
                   focus_areas=[fd.FOCUS_AREA_PILOT_PROJECTS, fd.FOCUS_AREA_INDUSTRY_CLOUD])
    project = fd.Project(id="p-four", fund_id="gamma", beneficiary_code=LIVE,
                         kind=fd.PROJECT_KIND_PLATFORM, title="Platform", budget=cny(90000),
                         milestones=[fd.Milestone(id="m1", title="Launch", amount=cny(40000)),
                                     fd.Milestone(id="m2", title="Adoption", amount=cny(50000))])
    cond = project.milestones[1].condition
    cond.indicator = "industry_cloud"
    cond.baseline_period = "2017"
    cond.current_period = "2019"
    cond.rule.multiple.multiple = 1.5
    seq("fund_project_flow",
        record(CREATE_FUND, fd.CreateFundRequest(fund=fund, request_id="f1")),
        record(CREATE_PROJECT, fd.CreateProjectRequest(project=project, request_id="pr1")),
        record(CAPITALISE, fd.CapitaliseFundRequest(fund_id="gamma", amount=cny(90000),
                                                    request_id="g1")),
        record(COMMIT, fd.CommitToProjectRequest(project_id="p-four", amount=cny(90000),
                                                 request_id="g2")),
        record(POST, fd.PostCommitmentRequest(project_id="p-four", pending_transfer_id="commit:g2",
                                              request_id="g3")),
        record(DISBURSE, fd.DisburseMilestoneRequest(project_id="p-four", milestone_id="m2",
                                                     request_id="g4")),
        record(CREATE_FUND, fd.CreateFundRequest(fund=fund, request_id="f1")))
    bad_fund = fd.Fund(id="Bad--Fund", name=" ", currency="USD",
                       sponsor=fd.Sponsor(enterprise_code="91350100M000100Y44"),
                       focus_areas=[fd.FOCUS_AREA_OTHER, fd.FOCUS_AREA_OTHER, 42])
    bad_project = fd.Project(id="-p", fund_id="", beneficiary_code="123", kind=9,
                             budget=common.Money(currency="CNY", fen=10),
                             milestones=[fd.Milestone(id="a b", title="", amount=cny(20)),
                                         fd.Milestone(id="a b", title="t", amount=cny(-1))])
    bad_cond = bad_project.milestones[0].condition
    bad_cond.indicator = "Bad-Indicator"
    bad_cond.baseline_period = "2019"
    bad_cond.current_period = "2018-Q1"
    seq("fund_project_invalid",
        record(CREATE_FUND, fd.CreateFundRequest(fund=bad_fund, request_id="f2")),
        record(CREATE_PROJECT, fd.CreateProjectRequest(project=bad_project, request_id="pr2")),
        record(CREATE_PROJECT, fd.CreateProjectRequest(project=fd.Project(), request_id="pr3")))


def main():
    with tempfile.TemporaryDirectory() as out:
        reg, ing, common, ev, fd = compile_protos(out)
        registry_seeds(reg, common)
        ingest_seeds(ing)
        evaluation_seeds(ev, common)
        funds_seeds(fd, common, ev)


if __name__ == "__main__":
    main()
