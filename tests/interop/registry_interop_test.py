"""Interoperability test: a Python gRPC client against the real iplus-registry binary.

Generates Python stubs from the project's protos with protoc, starts a private
redis-server and the registry on free loopback ports, runs the unittest cases below,
then stops the registry with SIGTERM (which must exit 0) and redis.

Usage:
  registry_interop_test.py --registry BIN --redis_server BIN --protoc BIN
      --grpc_python_plugin BIN --proto_root DIR --googleapis DIR --protobuf_include DIR
"""

import argparse
import collections
import os
import sys
import tempfile
import time
import unittest
import uuid

from google.protobuf import field_mask_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iplus_harness  # noqa: E402
import uscc  # noqa: E402

PROTOS = [
    "iplus/common/v1/common.proto",
    "iplus/registry/v1/registry.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]

RPC_TIMEOUT_S = 10.0
BATCH_TIMEOUT_S = 30.0
MAX_PAGES = 1000

# Filled in by main() once the stubs exist and the stack is up.
grpc = None
pb = None
rpc = None
common = None
STACK = None


def _import_stubs():
    global grpc, pb, rpc, common
    import grpc as _grpc
    from iplus.common.v1 import common_pb2
    from iplus.registry.v1 import registry_pb2, registry_pb2_grpc
    grpc, pb, common = _grpc, registry_pb2, common_pb2
    rpc = registry_pb2_grpc


def rid():
    return str(uuid.uuid4())


def enterprise(code, name, region, industry="C26", ownership=None, size=None, kind=None,
               key=False, labels=None):
    e = pb.Enterprise(
        code=code, name=name, region=region, industry=industry,
        ownership=ownership if ownership is not None else common.OWNERSHIP_PRIVATE,
        size=size if size is not None else common.ENTERPRISE_SIZE_SMALL,
        kind=kind if kind is not None else common.ORGANIZATION_KIND_MANUFACTURER,
        key_enterprise=key)
    for k, v in (labels or {}).items():
        e.labels[k] = v
    return e


status_details = iplus_harness.status_details
bad_request_fields = iplus_harness.bad_request_fields


class RegistryInteropTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel(STACK.services[0].target)
        cls.stub = rpc.RegistryServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def create(self, e):
        return self.stub.CreateEnterprise(
            pb.CreateEnterpriseRequest(enterprise=e, request_id=rid()), timeout=RPC_TIMEOUT_S)

    def assertRpcFails(self, code, fn, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.code(), code, cm.exception.details())
        return cm.exception

    def list_all(self, page_size, **request_fields):
        """Every enterprise of a listing, walking all pages; also the page count."""
        seen, token, pages = [], "", 0
        while True:
            resp = self.stub.ListEnterprises(
                pb.ListEnterprisesRequest(page_size=page_size, page_token=token,
                                          **request_fields),
                timeout=RPC_TIMEOUT_S)
            pages += 1
            self.assertLessEqual(len(resp.enterprises), page_size)
            seen.extend(resp.enterprises)
            token = resp.next_page_token
            if not token:
                return seen, pages
            self.assertLess(pages, MAX_PAGES, "page tokens never end")

    # --- credit codes -------------------------------------------------------------

    def test_credit_code_helper(self):
        uscc.self_check()
        self.assertFalse(uscc.is_valid("91350100M000100Y44"))
        self.assertFalse(uscc.is_valid("91350100M000100X43"))
        for n in (0, 1, 12345, 31 ** 8 - 1):
            self.assertTrue(uscc.is_valid(uscc.make_code("320100", uscc.body_for(n))))

    def test_known_code_is_accepted(self):
        resp = self.create(enterprise("91350100M000100Y43", "Known Code Co.", "350100"))
        self.assertEqual(resp.enterprise.code, "91350100M000100Y43")

    # --- create / get ---------------------------------------------------------------

    def test_create_is_idempotent_on_code(self):
        code = uscc.make_code("320500", uscc.body_for(1001))
        e = enterprise(code, "Suzhou Precision Ltd.", "320500", industry="C34",
                       labels={"park": "sip"})
        first = self.create(e)
        self.assertTrue(first.created)
        self.assertTrue(first.enterprise.etag)
        self.assertGreater(first.enterprise.version, 0)
        again = self.create(e)
        self.assertFalse(again.created)
        self.assertEqual(again.enterprise.etag, first.enterprise.etag)
        changed = pb.Enterprise()
        changed.CopyFrom(e)
        changed.name = "Another Name Ltd."
        self.assertRpcFails(grpc.StatusCode.ALREADY_EXISTS, self.create, changed)

    def test_get(self):
        code = uscc.make_code("310115", uscc.body_for(2002))
        e = enterprise(code, "Pudong Cloud Services", "310115", industry="I64",
                       kind=common.ORGANIZATION_KIND_INTERNET_SERVICE_PROVIDER,
                       ownership=common.OWNERSHIP_JOINT_STOCK, size=common.ENTERPRISE_SIZE_LARGE,
                       key=True, labels={"tier": "1"})
        created = self.create(e).enterprise
        got = self.stub.GetEnterprise(pb.GetEnterpriseRequest(code=code),
                                      timeout=RPC_TIMEOUT_S).enterprise
        self.assertEqual(got, created)
        for field in ("code", "name", "region", "industry", "ownership", "size",
                      "key_enterprise", "kind"):
            self.assertEqual(getattr(got, field), getattr(e, field), field)
        self.assertEqual(dict(got.labels), {"tier": "1"})
        self.assertFalse(got.archived)
        self.assertGreater(got.create_time.seconds, 0)

        missing = uscc.make_code("310115", uscc.body_for(2003))
        self.assertRpcFails(grpc.StatusCode.NOT_FOUND, self.stub.GetEnterprise,
                            pb.GetEnterpriseRequest(code=missing), timeout=RPC_TIMEOUT_S)
        bad_check = code[:17] + ("0" if code[17] != "0" else "1")
        self.assertRpcFails(grpc.StatusCode.INVALID_ARGUMENT, self.stub.GetEnterprise,
                            pb.GetEnterpriseRequest(code=bad_check), timeout=RPC_TIMEOUT_S)

    # --- errors ---------------------------------------------------------------------

    def test_invalid_region_carries_bad_request(self):
        code = uscc.make_code("110108", uscc.body_for(3003))
        err = self.assertRpcFails(grpc.StatusCode.INVALID_ARGUMENT, self.create,
                                  enterprise(code, "Nowhere Ltd.", "990000"))
        st = status_details(err)
        self.assertIsNotNone(st, "no grpc-status-details-bin trailer")
        self.assertEqual(st.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("enterprise.region", bad_request_fields(st))
        # Nothing was stored.
        self.assertRpcFails(grpc.StatusCode.NOT_FOUND, self.stub.GetEnterprise,
                            pb.GetEnterpriseRequest(code=code), timeout=RPC_TIMEOUT_S)

    def test_update_with_stale_etag_is_aborted(self):
        code = uscc.make_code("320100", uscc.body_for(4004))
        created = self.create(enterprise(code, "Nanjing Motors", "320100", industry="C36"))
        old_etag = created.enterprise.etag

        def update(name, etag):
            return self.stub.UpdateEnterprise(
                pb.UpdateEnterpriseRequest(
                    enterprise=pb.Enterprise(code=code, name=name),
                    update_mask=field_mask_pb2.FieldMask(paths=["name"]), etag=etag, request_id=rid()),
                timeout=RPC_TIMEOUT_S)

        updated = update("Nanjing Motors Group", old_etag).enterprise
        self.assertEqual(updated.name, "Nanjing Motors Group")
        self.assertEqual(updated.region, "320100")  # not in the mask: unchanged
        self.assertNotEqual(updated.etag, old_etag)
        self.assertGreater(updated.version, created.enterprise.version)

        self.assertRpcFails(grpc.StatusCode.ABORTED, update, "Stale Writer Ltd.", old_etag)
        got = self.stub.GetEnterprise(pb.GetEnterpriseRequest(code=code),
                                      timeout=RPC_TIMEOUT_S).enterprise
        self.assertEqual(got.name, "Nanjing Motors Group")
        self.assertEqual(update("Nanjing Motors Holding", got.etag).enterprise.name,
                         "Nanjing Motors Holding")

    # --- batch create and paging ------------------------------------------------------

    def test_batch_create_then_list_every_page(self):
        regions = ["440100", "440300", "441900", "450100"]
        industries = ["C26", "C2614", "C34", "C39"]
        items = []
        for i in range(320):
            region = regions[i % len(regions)]
            industry = industries[(i // 3) % len(industries)]
            code = uscc.make_code(region, uscc.body_for(100000 + i * 7919))
            items.append(enterprise(code, "South Works %03d" % i, region, industry=industry,
                                    size=common.ENTERPRISE_SIZE_MEDIUM if i % 2
                                    else common.ENTERPRISE_SIZE_SMALL))
        invalid_index = 57
        bad_code = uscc.make_code("440100", uscc.body_for(99999))
        requests = [pb.CreateEnterpriseRequest(enterprise=e) for e in items]
        requests.insert(invalid_index, pb.CreateEnterpriseRequest(
            enterprise=enterprise(bad_code, "Bad Region Ltd.", "990000")))

        resp = self.stub.BatchCreateEnterprises(
            pb.BatchCreateEnterprisesRequest(requests=requests, request_id=rid()),
            timeout=BATCH_TIMEOUT_S)
        self.assertEqual(len(resp.results), len(requests))
        for i, r in enumerate(resp.results):
            if i == invalid_index:
                self.assertEqual(r.status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
                self.assertIn("requests[%d].enterprise.region" % i,
                              bad_request_fields(r.status))
            else:
                self.assertEqual(r.status.code, 0, r.status.message)
                self.assertTrue(r.created)
                self.assertEqual(r.enterprise.code, requests[i].enterprise.code)

        def expected(pred):
            return sorted(e.code for e in items if pred(e))

        cases = [
            ({"scope": common.Scope(region_prefix="44")}, 23,
             expected(lambda e: e.region.startswith("44"))),
            ({"scope": common.Scope(region_prefix="44", industry_prefix="C26")}, 17,
             expected(lambda e: e.region.startswith("44") and e.industry.startswith("C26"))),
            ({"scope": common.Scope(region_prefix="4403",
                                    size=common.ENTERPRISE_SIZE_MEDIUM)}, 7,
             expected(lambda e: e.region.startswith("4403")
                      and e.size == common.ENTERPRISE_SIZE_MEDIUM)),
            ({"scope": common.Scope(region_prefix="45"), "name_prefix": "South Works 1"}, 5,
             expected(lambda e: e.region.startswith("45")
                      and e.name.startswith("South Works 1"))),
        ]
        for fields, page_size, want in cases:
            with self.subTest(filter=str(fields), page_size=page_size):
                self.assertTrue(want)
                seen, pages = self.list_all(page_size, **fields)
                codes = [e.code for e in seen]
                dupes = [c for c, n in collections.Counter(codes).items() if n > 1]
                self.assertEqual(dupes, [], "enterprises returned more than once")
                self.assertEqual(codes, sorted(codes), "not in credit-code order")
                self.assertEqual(codes, want)
                self.assertGreaterEqual(pages, -(-len(want) // page_size))
                # One big page gives the same answer.
                big, _ = self.list_all(1000, **fields)
                self.assertEqual([e.code for e in big], want)

        self.assertRpcFails(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ListEnterprises,
                            pb.ListEnterprisesRequest(page_size=1001), timeout=RPC_TIMEOUT_S)
        self.assertRpcFails(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ListEnterprises,
                            pb.ListEnterprisesRequest(page_token="not-a-token"),
                            timeout=RPC_TIMEOUT_S)

    def test_page_walk_is_stable_under_concurrent_writes(self):
        region = "530100"
        initial = [enterprise(uscc.make_code(region, uscc.body_for(700000 + i * 6007)),
                              "Kunming Plant %02d" % i, region, industry="C13")
                   for i in range(60)]
        resp = self.stub.BatchCreateEnterprises(
            pb.BatchCreateEnterprisesRequest(
                requests=[pb.CreateEnterpriseRequest(enterprise=e) for e in initial],
                request_id=rid()),
            timeout=BATCH_TIMEOUT_S)
        self.assertTrue(all(r.status.code == 0 for r in resp.results))

        scope = common.Scope(region_prefix="53")
        seen, token, pages, extra = [], "", 0, 0
        while True:
            page = self.stub.ListEnterprises(
                pb.ListEnterprisesRequest(scope=scope, page_size=7, page_token=token),
                timeout=RPC_TIMEOUT_S)
            pages += 1
            seen.extend(e.code for e in page.enterprises)
            token = page.next_page_token
            if not token:
                break
            self.assertLess(pages, MAX_PAGES)
            # Others write between pages: new enterprises on both sides of the cursor, and
            # updates of ones already returned and ones still ahead.
            for _ in range(2):
                self.create(enterprise(uscc.make_code(region, uscc.body_for(800000 + extra)),
                                       "Kunming Newcomer %d" % extra, region, industry="C13"))
                extra += 1
            for code in (seen[0], initial[-1 - pages % 10].code):
                current = self.stub.GetEnterprise(pb.GetEnterpriseRequest(code=code),
                                                  timeout=RPC_TIMEOUT_S).enterprise
                self.stub.UpdateEnterprise(pb.UpdateEnterpriseRequest(
                    enterprise=pb.Enterprise(code=code, name=current.name + "+"),
                    update_mask=field_mask_pb2.FieldMask(paths=["name"]),
                    etag=current.etag, request_id=rid()), timeout=RPC_TIMEOUT_S)
        self.assertGreater(pages, 8)
        self.assertEqual(len(seen), len(set(seen)), "enterprises returned more than once")
        self.assertEqual(seen, sorted(seen), "not in credit-code order")
        self.assertLessEqual({e.code for e in initial}, set(seen),
                             "an enterprise present for the whole walk was skipped")

        # The server stream sees everything, in bounded batches.
        exported = []
        for batch in self.stub.ExportEnterprises(
                pb.ExportEnterprisesRequest(scope=scope, batch_size=10), timeout=RPC_TIMEOUT_S):
            self.assertLessEqual(len(batch.enterprises), 10)
            self.assertGreater(batch.registry_version, 0)
            exported.extend(e.code for e in batch.enterprises)
        self.assertEqual(len(exported), len(set(exported)))
        self.assertEqual(len(exported), len(initial) + extra)
        self.assertLessEqual({e.code for e in initial}, set(exported))

    # --- counts ---------------------------------------------------------------------

    def test_count_enterprises(self):
        regions = ["350100", "350200", "350203", "350500"]
        industries = ["C13", "C26", "C39"]
        items = []
        for i in range(90):
            region = regions[i % len(regions)]
            industry = industries[i % len(industries)]
            items.append(enterprise(uscc.make_code(region, uscc.body_for(500000 + i * 104729)),
                                    "Fujian Maker %02d" % i, region, industry=industry,
                                    key=(i % 5 == 0)))
        resp = self.stub.BatchCreateEnterprises(
            pb.BatchCreateEnterprisesRequest(
                requests=[pb.CreateEnterpriseRequest(enterprise=e) for e in items],
                request_id=rid()),
            timeout=BATCH_TIMEOUT_S)
        self.assertTrue(all(r.status.code == 0 for r in resp.results))
        # The known valid code created elsewhere may also be in 3501; count it too.
        listed, _ = self.list_all(1000, scope=common.Scope(region_prefix="35"))
        in_scope = list(listed)
        self.assertLessEqual({e.code for e in items}, {e.code for e in in_scope})

        def count(scope, group_by):
            return self.stub.CountEnterprises(
                pb.CountEnterprisesRequest(scope=scope, group_by=group_by),
                timeout=RPC_TIMEOUT_S)

        by_prefecture = count(common.Scope(region_prefix="35"), pb.DIMENSION_PREFECTURE)
        self.assertEqual(by_prefecture.total, len(in_scope))
        want = collections.Counter(e.region[:4] + "00" for e in in_scope)
        self.assertEqual({g.key: g.count for g in by_prefecture.groups}, dict(want))
        keys = [g.key for g in by_prefecture.groups]
        self.assertEqual(keys, sorted(keys))
        self.assertGreater(by_prefecture.registry_version, 0)

        by_division = count(common.Scope(region_prefix="35"), pb.DIMENSION_INDUSTRY_DIVISION)
        self.assertEqual(dict((g.key, g.count) for g in by_division.groups),
                         dict(collections.Counter(e.industry[:3] for e in in_scope)))
        self.assertEqual(by_division.total, len(in_scope))

        key_only = count(common.Scope(region_prefix="35", key_only=True),
                         pb.DIMENSION_KEY_ENTERPRISE)
        self.assertEqual(key_only.total, sum(1 for e in in_scope if e.key_enterprise))
        self.assertEqual([g.key for g in key_only.groups], ["true"])

        everything = count(common.Scope(), pb.DIMENSION_PROVINCE)
        self.assertEqual(everything.total, sum(g.count for g in everything.groups))
        provinces = {g.key: g.count for g in everything.groups}
        self.assertEqual(provinces.get("350000"), len(in_scope))
        self.assertGreaterEqual(everything.total, len(items))


class ShutdownTest(unittest.TestCase):
    """Runs last: SIGTERM drains and exits 0."""

    def test_sigterm_exits_zero(self):
        svc = STACK.services[0]
        self.assertTrue(svc.process.alive(), "the registry died during the tests")
        started = time.monotonic()
        rc = svc.process.terminate(timeout=20.0)
        self.assertEqual(rc, 0, "exit code after SIGTERM (None: had to be killed)\n" +
                         iplus_harness.tail(svc.process.log_path))
        self.assertLess(time.monotonic() - started, 20.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registry", required=True)
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
            iplus_harness.Service("registry", args.registry, ["--log_level=info"])])
        return iplus_harness.run_suites(STACK, RegistryInteropTest, ShutdownTest)


if __name__ == "__main__":
    sys.exit(main())
