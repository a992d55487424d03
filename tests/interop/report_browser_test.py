"""Browser test of `iplusctl report --html`: the page, opened in headless Chromium, shows
what the services return.

Starts a private redis-server with the real iplus-registry, iplus-ingest and
iplus-evaluation (seeded with deploy/targets.json), and iplus-funds on a second
redis-server (the funds service wants an append-only file fsynced on every write) when
its binary is given; writes a small data set with iplus-datagen and imports it with
`iplusctl enterprise import` and `iplusctl observation import`; waits until evaluation has
applied all of it. Then:

1. With the funds service unreachable (an address nobody listens on): `iplusctl report`
   exits 0 with a warning on stderr; the page says "funds service unreachable at ADDR".
2. When the funds binary is given: two funds, one with a project whose commitment is
   posted and whose milestone is disbursed; the page's funds table and total equal
   GetFundStatement's figures.

Each page is opened in headless Chromium through chromedriver (selenium). The browser's
console must be empty of errors (the page's Content-Security-Policy forbids loading
anything, so a reference to the network would show here); every target's status,
progress, expected progress, baseline, current, target and forecast values, coverage
and reporters, the trend points, and every province row of the league tables (in
order) must equal GetScorecard's and Breakdown's, read here over gRPC; the text shown
must agree with them; every chart and table must be accessible (SVG titles, header
cells). Screenshots (the top of the page, the whole page, and the whole page as printed)
and the HTML are kept in --out_dir.

Usage:
  report_browser_test.py --registry BIN --ingest BIN --evaluation BIN [--funds BIN]
      --iplusctl BIN --datagen BIN --targets_file FILE --redis_server BIN --protoc BIN
      --grpc_python_plugin BIN --proto_root DIR --googleapis DIR --protobuf_include DIR
      --chromium BIN --chromedriver BIN --out_dir DIR
"""

import argparse
import base64
import csv
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import iplus_harness  # noqa: E402

PROTOS = [
    "iplus/common/v1/common.proto",
    "iplus/registry/v1/registry.proto",
    "iplus/ingest/v1/ingest.proto",
    "iplus/evaluation/v1/evaluation.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
]
FUNDS_PROTO = "iplus/funds/v1/funds.proto"

RPC_TIMEOUT_S = 30.0
ENTERPRISES = 4000
PERIOD = "2018"
STATUS_LABELS = {
    "ACHIEVED": "Achieved",
    "ON_TRACK": "On track",
    "AT_RISK": "At risk",
    "OFF_TRACK": "Off track",
    "INSUFFICIENT_DATA": "Insufficient data",
}

ARGS = None
STACK = None
FUNDS_STACK = None
grpc = None
ev = None
ev_rpc = None
fu = None
fu_rpc = None
common = None


def _import_stubs(with_funds):
    global grpc, ev, ev_rpc, fu, fu_rpc, common
    import grpc as _grpc
    from iplus.common.v1 import common_pb2
    from iplus.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
    grpc, common = _grpc, common_pb2
    ev, ev_rpc = evaluation_pb2, evaluation_pb2_grpc
    if with_funds:
        from iplus.funds.v1 import funds_pb2, funds_pb2_grpc
        fu, fu_rpc = funds_pb2, funds_pb2_grpc


def status_name(value):
    return ev.EvaluationStatus.Name(value)[len("EVALUATION_STATUS_"):]


def percent(ratio):
    """The page's percentages as selenium reads them: one decimal, a space (a no-break
    space in the page), then %."""
    text = "%.1f" % (ratio * 100)
    return ("0.0" if text == "-0.0" else text) + " %"


class ReportBrowserTest(unittest.TestCase):
    """Runs in name order; each step builds on the previous one."""

    driver = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = STACK.work_dir
        cls.channel = grpc.insecure_channel(STACK.service("evaluation").target)
        cls.evaluation = ev_rpc.EvaluationServiceStub(cls.channel)
        cls.funds_channel = None
        if FUNDS_STACK is not None:
            cls.funds_channel = grpc.insecure_channel(FUNDS_STACK.service("funds").target)
            cls.funds = fu_rpc.FundsServiceStub(cls.funds_channel)
        cls.driver = cls.start_browser()

    @classmethod
    def tearDownClass(cls):
        if cls.driver is not None:
            cls.driver.quit()
        cls.channel.close()
        if cls.funds_channel is not None:
            cls.funds_channel.close()

    @classmethod
    def start_browser(cls):
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        options = Options()
        options.binary_location = ARGS.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--force-device-scale-factor=1", "--window-size=1280,1600",
                     # Nothing may come from the network; make sure nothing could.
                     "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=ARGS.chromedriver,
                          log_path=os.path.join(cls.tmp, "chromedriver.log"))
        return webdriver.Chrome(service=service, options=options)

    # -- helpers ---------------------------------------------------------------------

    def ctl(self, *args, check=True):
        argv = [ARGS.iplusctl, "--plaintext",
                "--registry", STACK.service("registry").target,
                "--ingest", STACK.service("ingest").target,
                "--evaluation", STACK.service("evaluation").target] + list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPLUS_")}
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=600, env=env, check=False)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        if check:
            self.assertEqual(proc.returncode, 0, "%s\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(argv), out[-3000:], err[-3000:]))
        return proc.returncode, out, err

    def scorecard(self):
        return self.evaluation.GetScorecard(ev.GetScorecardRequest(period=PERIOD),
                                            timeout=RPC_TIMEOUT_S).scorecard

    def breakdown(self, target_id):
        return self.evaluation.Breakdown(ev.BreakdownRequest(
            target_id=target_id, period=PERIOD,
            dimension=ev.BREAKDOWN_DIMENSION_PROVINCE), timeout=RPC_TIMEOUT_S)

    @staticmethod
    def versions(card):
        return [(e.target_id, e.data_versions.SerializeToString(deterministic=True),
                 e.coverage.current_reporters) for e in card.evaluations]

    def render(self, name, funds_address):
        """Runs iplusctl report, opens the page; returns (page path, stdout, stderr)."""
        path = os.path.join(ARGS.out_dir, name + ".html")
        code, out, err = self.ctl("--funds", funds_address, "report", "--html", path,
                                  "--period", PERIOD)
        self.assertIn("wrote " + path, out)
        self.driver.set_window_size(1280, 1600)
        self.driver.get(pathlib.Path(path).as_uri())
        return path, out, err

    def console_errors(self):
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def screenshots(self, name):
        from selenium.webdriver.common.by import By
        d = self.driver
        top = os.path.join(ARGS.out_dir, name + ".png")
        d.set_window_size(1280, 1600)
        self.assertTrue(d.save_screenshot(top))
        height = d.execute_script("return document.documentElement.scrollHeight")
        width = d.execute_script("return document.documentElement.scrollWidth")
        # Nothing wider than the window: no horizontal scrolling at 1280 px.
        self.assertLessEqual(width, 1280, "the page is wider than the window")
        d.set_window_size(1280, min(int(height) + 200, 30000))
        self.assertTrue(d.save_screenshot(os.path.join(ARGS.out_dir, name + "-full.png")))
        # As printed (print media, A4 width at 96 dpi).
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        d.set_window_size(794, 1123)
        shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        with open(os.path.join(ARGS.out_dir, name + "-print.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        pdf = d.execute_cdp_cmd("Page.printToPDF", {"printBackground": True,
                                                    "preferCSSPageSize": True})
        with open(os.path.join(ARGS.out_dir, name + ".pdf"), "wb") as f:
            f.write(base64.b64decode(pdf["data"]))
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        d.set_window_size(1280, 1600)
        self.assertTrue(d.find_element(By.CSS_SELECTOR, "h1").is_displayed())

    def assert_number(self, element, attr, has, value, what):
        text = element.get_attribute(attr)
        if not has:
            self.assertIsNone(text, "%s: %s set on the page, unset in the API" % (what, attr))
            return
        self.assertIsNotNone(text, "%s: %s missing on the page" % (what, attr))
        # The page writes the shortest text that reads back to the same double: equal.
        self.assertEqual(float(text), value, "%s: %s" % (what, attr))

    def assert_evaluation(self, element, e, what):
        self.assertEqual(element.get_attribute("data-status"), status_name(e.status), what)
        self.assertEqual(element.get_attribute("data-period"), e.period, what)
        self.assert_number(element, "data-progress", e.HasField("progress"), e.progress, what)
        self.assert_number(element, "data-expected-progress", True, e.expected_progress, what)
        self.assert_number(element, "data-baseline", e.HasField("baseline_value"),
                           e.baseline_value, what)
        self.assert_number(element, "data-current", e.HasField("current_value"),
                           e.current_value, what)
        self.assert_number(element, "data-target-value", e.HasField("target_value"),
                           e.target_value, what)
        self.assert_number(element, "data-forecast", e.HasField("forecast_value"),
                           e.forecast_value, what)
        self.assert_number(element, "data-coverage", True, e.coverage.ratio, what)
        self.assertEqual(int(element.get_attribute("data-population")), e.coverage.population,
                         what)
        self.assertEqual(int(element.get_attribute("data-reporters")),
                         e.coverage.current_reporters, what)

    def check_scorecard_page(self):
        """Compares the open page with GetScorecard and Breakdown."""
        from selenium.webdriver.common.by import By
        d = self.driver
        card = self.scorecard()
        self.assertEqual(self.versions(card), self.stable_versions,
                         "the data moved while the page was checked")
        header = d.find_element(By.ID, "report")
        self.assertEqual(header.get_attribute("data-period"), PERIOD)
        self.assertEqual(int(header.get_attribute("data-targets")), len(card.evaluations))
        self.assertEqual(int(header.get_attribute("data-registry-version")),
                         max(e.data_versions.registry_version for e in card.evaluations))
        self.assertIn("Scorecard 2018", d.find_element(By.TAG_NAME, "h1").text)

        articles = d.find_elements(By.CSS_SELECTOR, "article[data-target]")
        self.assertEqual([a.get_attribute("data-target") for a in articles],
                         [e.target_id for e in card.evaluations])
        # The overview table lists the same targets with the same figures.
        overview = d.find_elements(By.CSS_SELECTOR, "table.overview tbody tr")
        self.assertEqual(len(overview), len(card.evaluations))
        tallies = {}
        for e in card.evaluations:
            tallies[status_name(e.status)] = tallies.get(status_name(e.status), 0) + 1
        for li in d.find_elements(By.CSS_SELECTOR, "ul.tally li"):
            self.assertEqual(int(li.get_attribute("data-count")),
                             tallies.get(li.get_attribute("data-tally"), 0))
        statuses = set()
        for article, row, e in zip(articles, overview, card.evaluations):
            what = "target %s" % e.target_id
            statuses.add(status_name(e.status))
            self.assert_evaluation(article, e, what)
            self.assert_evaluation(row, e, what + " (overview)")
            # Status in words, not colour alone; the progress as shown.
            badge = article.find_element(By.CSS_SELECTOR, ".target-head .badge")
            self.assertIn(STATUS_LABELS[status_name(e.status)], badge.text, what)
            shown = article.find_element(By.CSS_SELECTOR, ".progress-text b").text
            self.assertEqual(shown, percent(e.progress) if e.HasField("progress") else "\u2014",
                             what)
            # The trend: one marker per point, in order, and the forecast.
            chart = article.find_element(By.CSS_SELECTOR, "svg.trend")
            self.assertEqual(chart.get_attribute("data-chart"), e.target_id)
            self.assertTrue(chart.find_element(By.TAG_NAME, "title").get_attribute(
                "textContent").startswith("Trend of "))
            points = chart.find_elements(By.CSS_SELECTOR, "circle.point")
            self.assertEqual([(p.get_attribute("data-period"), float(p.get_attribute(
                "data-value")), int(p.get_attribute("data-reporters"))) for p in points],
                [(p.period, p.value, p.reporters) for p in e.points], what)
            forecast = chart.find_elements(By.CSS_SELECTOR, "circle.forecast-point")
            if e.HasField("forecast_value"):
                self.assertEqual(len(forecast), 1, what)
                self.assertEqual(float(forecast[0].get_attribute("data-value")),
                                 e.forecast_value, what)
            else:
                self.assertEqual(forecast, [], what)
            for cls_, has, value in (("line.baseline", e.HasField("baseline_value"),
                                      e.baseline_value),
                                     ("line.target-line", e.HasField("target_value"),
                                      e.target_value)):
                lines = chart.find_elements(By.CSS_SELECTOR, cls_)
                self.assertEqual(len(lines), 1 if has else 0, what + " " + cls_)
                if has:
                    self.assertEqual(float(lines[0].get_attribute("data-value")), value)
            # The league table: the API's groups, in the API's order, then the total.
            b = self.breakdown(e.target_id)
            table = article.find_element(By.CSS_SELECTOR, "table[data-league]")
            self.assertEqual(table.get_attribute("data-league"), e.target_id)
            rows = table.find_elements(By.CSS_SELECTOR, "tbody tr[data-key]")
            self.assertEqual([r.get_attribute("data-key") for r in rows],
                             [g.key for g in b.groups], what)
            self.assertGreater(len(rows), 10, "%s: too few provinces for a league" % what)
            for r, g in zip(rows, b.groups):
                self.assert_evaluation(r, g.evaluation, "%s, %s" % (what, g.key))
                self.assertIn(g.label, r.find_element(By.TAG_NAME, "th").text)
            # Sorted by progress, highest first, the groups without one last.
            progress = [float(r.get_attribute("data-progress")) for r in rows
                        if r.get_attribute("data-progress") is not None]
            self.assertEqual(progress, sorted(progress, reverse=True), what)
            self.assert_evaluation(table.find_element(By.CSS_SELECTOR, "tfoot tr"), b.total,
                                   what + " total")
        # The data set is varied enough to show more than one status.
        self.assertGreaterEqual(len(statuses), 2, statuses)

        # Accessible: every SVG has a title, every table header cells with a scope.
        for svg in d.find_elements(By.TAG_NAME, "svg"):
            self.assertTrue(svg.find_elements(By.TAG_NAME, "title"), "an SVG without title")
        for table in d.find_elements(By.TAG_NAME, "table"):
            self.assertTrue(table.find_elements(By.CSS_SELECTOR, "caption"))
            self.assertTrue(table.find_elements(By.CSS_SELECTOR, "thead th[scope=col]"))
        # Self-contained: nothing on the page refers to anything outside it.
        for attr in ("src", "href"):
            for el in d.find_elements(By.CSS_SELECTOR, "[%s]" % attr):
                value = el.get_attribute(attr)
                self.assertTrue(value.startswith("file://") and "#" in value,
                                "%s=%s" % (attr, value))
        self.assertEqual(d.find_elements(By.TAG_NAME, "script"), [])

    # -- the steps -------------------------------------------------------------------

    def test_00_load_data(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        proc = subprocess.run([ARGS.datagen, "--enterprises", str(ENTERPRISES),
                               "--out_dir", data], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=300, check=False)
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))
        self.ctl("enterprise", "import", os.path.join(data, "enterprises.csv"), "--quiet")
        self.ctl("observation", "import", os.path.join(data, "observations.csv"), "--quiet")
        with open(os.path.join(data, "enterprises.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        type(self).beneficiary = next(r["code"] for r in rows
                                      if r["region"].startswith("44") and r["kind"].endswith(
                                          "MANUFACTURER"))
        # Evaluation follows the registry and ingest: wait until what it serves stops
        # moving (the same data versions for two seconds) and covers the data set.
        deadline = time.monotonic() + 120
        last, since = None, time.monotonic()
        while True:
            card = self.scorecard()
            v = self.versions(card)
            if v != last:
                last, since = v, time.monotonic()
            elif time.monotonic() - since >= 2.0 and all(x[2] > 0 for x in v):
                break
            self.assertLess(time.monotonic(), deadline, "evaluation never settled: %s" % v)
            time.sleep(0.2)
        self.assertEqual(len(card.evaluations), 5)
        type(self).stable_versions = last

    def test_01_report_with_funds_unreachable(self):
        address = "127.0.0.1:%d" % iplus_harness.free_port()
        path, out, err = self.render("report-no-funds", address)
        self.assertIn("warning: funds service unreachable at " + address, err)
        self.assertEqual(self.console_errors(), [])
        self.check_scorecard_page()
        from selenium.webdriver.common.by import By
        note = self.driver.find_element(By.CSS_SELECTOR, "#funds [data-funds-error]")
        self.assertIn("funds service unreachable at " + address, note.text)
        self.assertTrue(note.is_displayed())
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "tr[data-fund]"), [])
        self.screenshots("report-no-funds")

    def test_02_report_with_funds(self):
        if FUNDS_STACK is None:
            self.skipTest("no iplus-funds binary in this build")
        from selenium.webdriver.common.by import By

        def money(fen):
            return common.Money(currency="CNY", fen=fen)

        def rid():
            return str(uuid.uuid4())

        t = RPC_TIMEOUT_S
        f = self.funds
        f.CreateFund(fu.CreateFundRequest(fund=fu.Fund(
            id="gd-platforms", name="Guangdong <Platforms> & Pilots Fund",
            sponsor=fu.Sponsor(region_code="440000"), currency="CNY",
            focus_areas=[fu.FOCUS_AREA_PLATFORMS, fu.FOCUS_AREA_PILOT_PROJECTS]),
            request_id=rid()), timeout=t)
        f.CreateFund(fu.CreateFundRequest(fund=fu.Fund(
            id="national-cloud", name="National industry cloud fund",
            sponsor=fu.Sponsor(national=True), currency="CNY",
            focus_areas=[fu.FOCUS_AREA_INDUSTRY_CLOUD]), request_id=rid()), timeout=t)
        f.CapitaliseFund(fu.CapitaliseFundRequest(fund_id="gd-platforms",
                                                  amount=money(50_000_000_00),
                                                  request_id=rid()), timeout=t)
        f.CapitaliseFund(fu.CapitaliseFundRequest(fund_id="national-cloud",
                                                  amount=money(120_000_000_55),
                                                  request_id=rid()), timeout=t)
        f.CreateProject(fu.CreateProjectRequest(project=fu.Project(
            id="gd-platform-1", fund_id="gd-platforms", beneficiary_code=self.beneficiary,
            kind=fu.PROJECT_KIND_PLATFORM, title="Innovation platform", budget=money(8_000_000_00),
            milestones=[fu.Milestone(id="m1", title="Platform online",
                                     amount=money(3_000_000_00)),
                        fu.Milestone(id="m2", title="Suppliers connected",
                                     amount=money(5_000_000_00))]),
            request_id=rid()), timeout=t)
        commit = f.CommitToProject(fu.CommitToProjectRequest(
            project_id="gd-platform-1", amount=money(6_000_000_00), request_id=rid()),
            timeout=t)
        f.PostCommitment(fu.PostCommitmentRequest(
            project_id="gd-platform-1", pending_transfer_id=commit.transfers[0].id,
            request_id=rid()), timeout=t)
        f.DisburseMilestone(fu.DisburseMilestoneRequest(
            project_id="gd-platform-1", milestone_id="m1", request_id=rid()), timeout=t)
        # A second commitment stays pending.
        f.CommitToProject(fu.CommitToProjectRequest(
            project_id="gd-platform-1", amount=money(1_500_000_25), request_id=rid()),
            timeout=t)

        path, out, err = self.render("report", FUNDS_STACK.service("funds").target)
        self.assertNotIn("warning", err)
        self.assertEqual(self.console_errors(), [])
        self.check_scorecard_page()
        fields = ("capital", "committed", "posted", "released", "disbursed", "clawed_back",
                  "available")
        rows = self.driver.find_elements(By.CSS_SELECTOR, "#funds tbody tr[data-fund]")
        ids = [r.get_attribute("data-fund") for r in rows]
        self.assertEqual(ids, ["gd-platforms", "national-cloud"])
        totals = dict.fromkeys(fields, 0)
        for r, fund_id in zip(rows, ids):
            s = f.GetFundStatement(fu.GetFundStatementRequest(fund_id=fund_id),
                                   timeout=t).statement
            for name in fields:
                fen = getattr(s, name).fen
                totals[name] += fen
                self.assertEqual(int(r.get_attribute("data-%s-fen" % name.replace("_", "-"))),
                                 fen, "%s %s" % (fund_id, name))
            # As shown: yuan with two decimals and thousands separators.
            cells = [c.text for c in r.find_elements(By.CSS_SELECTOR, "td.num")]
            self.assertEqual(cells[0], "{:,}.{:02d}".format(s.capital.fen // 100,
                                                            s.capital.fen % 100))
        gd = rows[0]
        self.assertEqual(int(gd.get_attribute("data-capital-fen")), 50_000_000_00)
        self.assertEqual(int(gd.get_attribute("data-posted-fen")), 6_000_000_00)
        self.assertEqual(int(gd.get_attribute("data-disbursed-fen")), 3_000_000_00)
        self.assertEqual(int(gd.get_attribute("data-committed-fen")), 1_500_000_25)
        self.assertIn("Guangdong <Platforms> & Pilots Fund", gd.text)
        total = self.driver.find_element(By.CSS_SELECTOR, "#funds tfoot tr[data-total]")
        for name in fields:
            self.assertEqual(int(total.get_attribute("data-%s-fen" % name.replace("_", "-"))),
                             totals[name], "total " + name)
        self.screenshots("report")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("registry", "ingest", "evaluation", "iplusctl", "datagen", "targets_file",
                 "redis_server", "protoc", "grpc_python_plugin", "proto_root", "googleapis",
                 "protobuf_include", "chromium", "chromedriver", "out_dir"):
        parser.add_argument("--" + flag, required=True)
    parser.add_argument("--funds", default="")
    global ARGS, STACK, FUNDS_STACK
    ARGS = parser.parse_args()
    ARGS.out_dir = os.path.abspath(ARGS.out_dir)
    os.makedirs(ARGS.out_dir, exist_ok=True)
    with_funds = bool(ARGS.funds)

    with tempfile.TemporaryDirectory(prefix="iplus-report-") as tmp:
        iplus_harness.generate_stubs(
            ARGS.protoc, ARGS.grpc_python_plugin,
            [ARGS.proto_root, ARGS.googleapis, ARGS.protobuf_include],
            PROTOS + ([FUNDS_PROTO] if with_funds else []), os.path.join(tmp, "gen"))
        _import_stubs(with_funds)
        STACK = iplus_harness.Stack(tmp, ARGS.redis_server, [
            iplus_harness.Service("registry", ARGS.registry, ["--log_level=warning"]),
            iplus_harness.Service("ingest", ARGS.ingest, ["--log_level=warning"],
                                  links={"registry_target": "registry"}),
            iplus_harness.Service(
                "evaluation", ARGS.evaluation,
                ["--log_level=warning", "--targets_file=" + ARGS.targets_file,
                 "--poll_interval_ms=50"],
                links={"registry_target": "registry", "ingest_target": "ingest"}),
        ])
        try:
            STACK.start()
            if with_funds:
                # Its own Redis: the funds service wants every write fsynced, which the
                # bulk import above does not need.
                funds_dir = os.path.join(tmp, "funds")
                os.makedirs(funds_dir)
                FUNDS_STACK = iplus_harness.Stack(funds_dir, ARGS.redis_server, [
                    iplus_harness.Service("funds", ARGS.funds, [
                        "--log_level=warning",
                        "--registry_target=" + STACK.service("registry").target,
                        "--evaluation_target=" + STACK.service("evaluation").target])],
                    redis_flags=["--appendonly", "yes", "--appendfsync", "always"])
        except (RuntimeError, ValueError) as e:
            STACK.stop()
            print("cannot start the stack: %s" % e, file=sys.stderr)
            return 1
        stacks = [STACK] + ([FUNDS_STACK] if FUNDS_STACK is not None else [])
        try:
            if FUNDS_STACK is not None:
                FUNDS_STACK.start()
            suite = unittest.TestLoader().loadTestsFromTestCase(ReportBrowserTest)
            result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
            if not result.wasSuccessful():
                for stack in stacks:
                    for svc in stack.services:
                        if svc.process is not None:
                            print("--- %s output (last lines) ---\n%s" % (
                                svc.name, iplus_harness.tail(svc.process.log_path, 60)))
                log = os.path.join(tmp, "chromedriver.log")
                if os.path.exists(log):
                    shutil.copy(log, os.path.join(ARGS.out_dir, "chromedriver.log"))
            return 0 if result.wasSuccessful() else 1
        except (RuntimeError, ValueError) as e:
            print("cannot start the stack: %s" % e, file=sys.stderr)
            return 1
        finally:
            for stack in reversed(stacks):
                stack.stop()


if __name__ == "__main__":
    sys.exit(main())
