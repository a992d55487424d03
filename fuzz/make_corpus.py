#!/usr/bin/python3
"""Writes the seed inputs of the proto fuzz targets into fuzz/corpus/.

    /usr/bin/python3 fuzz/make_corpus.py

Compiles the v1 protos to Python in a temporary directory with protoc (Debian's
python3-protobuf and protobuf-compiler), then writes serialized requests:
corpus/registry_request/* (a selector byte, 0 create, 1 update, 2 list, then the
request), corpus/ingest_request/* (a ReportObservationsRequest) and
corpus/evaluation_request/* (a 2-byte little-endian length, a CreateTargetRequest of that
length, then a BreakdownRequest). The codes match the ones the fuzz targets set up. The
output is checked in; run again after a proto change.
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
              "iplus/ingest/v1/ingest.proto", "iplus/evaluation/v1/evaluation.proto"]
    subprocess.run(["protoc", f"--python_out={out}", f"-I{ROOT}/proto", f"-I{GOOGLEAPIS}",
                    "-I/usr/include", *protos], check=True)
    subprocess.run(["protoc", f"--python_out={out}", f"-I{GOOGLEAPIS}",
                    "google/rpc/status.proto"], check=True)
    sys.path.insert(0, out)
    return (importlib.import_module("iplus.registry.v1.registry_pb2"),
            importlib.import_module("iplus.ingest.v1.ingest_pb2"),
            importlib.import_module("iplus.common.v1.common_pb2"),
            importlib.import_module("iplus.evaluation.v1.evaluation_pb2"))


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


def main():
    with tempfile.TemporaryDirectory() as out:
        reg, ing, common, ev = compile_protos(out)
        registry_seeds(reg, common)
        ingest_seeds(ing)
        evaluation_seeds(ev, common)


if __name__ == "__main__":
    main()
