// Unit tests of `iplusctl report`'s page: escaping, numbers, the data-* attributes that
// carry every figure, an empty scorecard, an unreachable funds service, and the page
// being self-contained. No service is involved: the page is a pure function of the
// responses.

#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/iplusctl/commands.h"
#include "tools/iplusctl/report.h"

namespace iplus::ctl {
namespace {

namespace ev1 = ::iplus::evaluation::v1;
namespace fv1 = ::iplus::funds::v1;

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

ev1::Target DevCycle() {
  ev1::Target t;
  t.set_id("dev-cycle");
  t.set_title("Product development cycle 12 % shorter");
  t.set_indicator("product_dev_cycle_days");
  t.set_aggregation(ev1::AGGREGATION_MEAN);
  t.mutable_rule()->mutable_relative_change()->set_change(-0.12);
  t.set_baseline_period("2015");
  t.set_deadline_period("2018");
  return t;
}

// The evaluation of the interop test's data set, worked out by hand there: panel A, B;
// base 150, current 132.5 in 2017, target 132, forecast 123.75.
ev1::Evaluation DevCycleEvaluation() {
  ev1::Evaluation e;
  e.set_target_id("dev-cycle");
  e.set_period("2017");
  e.set_baseline_value(150);
  e.set_current_value(132.5);
  e.set_target_value(132);
  e.set_progress(17.5 / 18);
  e.set_expected_progress(2.0 / 3);
  e.set_status(ev1::EVALUATION_STATUS_ON_TRACK);
  e.set_status_reason("forecast 123.75 meets <= 132");
  e.set_forecast_value(123.75);
  auto* p = e.add_points();
  p->set_period("2015");
  p->set_value(150);
  p->set_reporters(2);
  p = e.add_points();
  p->set_period("2017");
  p->set_value(132.5);
  p->set_reporters(2);
  e.mutable_coverage()->set_population(2);
  e.mutable_coverage()->set_current_reporters(2);
  e.mutable_coverage()->set_baseline_reporters(2);
  e.mutable_coverage()->set_ratio(1);
  e.mutable_coverage()->set_floor(0.3);
  e.set_panel_size(2);
  e.set_panel_mode(ev1::PANEL_MODE_MATCHED);
  e.mutable_data_versions()->set_registry_version(7);
  auto* v = e.mutable_data_versions()->add_ingest_versions();
  v->set_indicator("product_dev_cycle_days");
  v->set_period("2015");
  v->set_version(3);
  e.mutable_data_versions()->set_target_etag("r1");
  return e;
}

ReportData Data() {
  ReportData d;
  d.period = "2017";
  d.scope.set_region_prefix("44");
  d.generated = absl::FromUnixSeconds(1700000000);
  d.targets["dev-cycle"] = DevCycle();
  *d.scorecard.add_evaluations() = DevCycleEvaluation();
  d.scorecard.set_period("2017");
  ev1::BreakdownResponse b;
  auto* g = b.add_groups();
  g->set_key("440000");
  g->set_label("Guangdong");
  *g->mutable_evaluation() = DevCycleEvaluation();
  *b.mutable_total() = DevCycleEvaluation();
  d.breakdowns["dev-cycle"] = b;
  fv1::Fund f;
  f.set_id("gd-platforms");
  f.set_name("Guangdong platform fund");
  f.mutable_sponsor()->set_region_code("440000");
  fv1::FundStatement s;
  s.set_fund_id("gd-platforms");
  s.mutable_capital()->set_fen(500000000);
  s.mutable_committed()->set_fen(12345);
  s.mutable_posted()->set_fen(100000000);
  s.mutable_disbursed()->set_fen(25000050);
  s.mutable_available()->set_fen(399987655);
  s.set_journal_sequence(9);
  d.funds.push_back({f, s, ""});
  return d;
}

TEST(ReportText, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\" title='y'>Tom & Jerry</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("\xe5\xb9\xbf\xe4\xb8\x9c plain"), "\xe5\xb9\xbf\xe4\xb8\x9c plain");
}

TEST(ReportText, NumbersForPeople) {
  EXPECT_EQ(DisplayNumber(132.5), "132.5");
  EXPECT_EQ(DisplayNumber(123.75), "123.8");
  EXPECT_EQ(DisplayNumber(150), "150");
  EXPECT_EQ(DisplayNumber(0.81234), "0.8123");
  EXPECT_EQ(DisplayNumber(12345.6), "12,346");
  EXPECT_EQ(DisplayNumber(-3), "-3");
  EXPECT_EQ(DisplayNumber(0), "0");
  EXPECT_EQ(DisplayNumber(-0.00001), "-1e-05");
  EXPECT_EQ(DisplayNumber(1234567), "1,234,567");
  EXPECT_EQ(DisplayPercent(0.81234), "81.2\xc2\xa0%");
  EXPECT_EQ(DisplayPercent(-0.0001), "0.0\xc2\xa0%");
  EXPECT_EQ(YuanText(125000050), "1,250,000.50");
  EXPECT_EQ(YuanText(5), "0.05");
  EXPECT_EQ(YuanText(-305), "-3.05");
  EXPECT_EQ(YuanText(INT64_MIN), "-92,233,720,368,547,758.08");
}

TEST(ReportText, ScopeInWords) {
  iplus::common::v1::Scope s;
  EXPECT_EQ(ScopeText(s), "all regions");
  s.set_region_prefix("44");
  EXPECT_EQ(ScopeText(s), "Guangdong (44)");
  s.set_region_prefix("4403");
  s.set_industry_prefix("C26");
  s.set_key_only(true);
  EXPECT_EQ(ScopeText(s),
            "region 4403 (Guangdong) \xc2\xb7 industry C26 \xc2\xb7 key enterprises only");
}

TEST(ReportPage, CarriesEveryFigureUnroundedInDataAttributes) {
  const std::string html = RenderReportHtml(Data());
  // The card and the overview row of the target, and the league table's row and total.
  EXPECT_EQ(Count(html, "data-target=\"dev-cycle\""), 2);
  EXPECT_THAT(html, HasSubstr(absl::StrCat("data-progress=\"", FormatDouble(17.5 / 18), "\"")));
  EXPECT_THAT(html, HasSubstr("data-progress=\"0.9722222222222222\""));
  EXPECT_THAT(html, HasSubstr("data-expected-progress=\"0.6666666666666666\""));
  EXPECT_THAT(html, HasSubstr("data-baseline=\"150\""));
  EXPECT_THAT(html, HasSubstr("data-current=\"132.5\""));
  EXPECT_THAT(html, HasSubstr("data-target-value=\"132\""));
  EXPECT_THAT(html, HasSubstr("data-forecast=\"123.75\""));
  EXPECT_THAT(html, HasSubstr("data-status=\"ON_TRACK\""));
  EXPECT_THAT(html, HasSubstr("data-key=\"440000\""));
  EXPECT_THAT(html, HasSubstr("data-rank=\"1\""));
  EXPECT_THAT(html, HasSubstr("data-total=\"true\""));
  // The chart's points and forecast.
  EXPECT_THAT(html, HasSubstr("data-period=\"2015\" data-value=\"150\" data-reporters=\"2\""));
  EXPECT_THAT(html, HasSubstr("data-period=\"2018\" data-value=\"123.75\""));
  // Status in words and a symbol, not by colour alone.
  EXPECT_THAT(html, HasSubstr("On track</span>"));
  // Shown rounded for people.
  EXPECT_THAT(html, HasSubstr(">97.2\xc2\xa0%<"));
  EXPECT_THAT(html, HasSubstr(">123.8<"));
  // The funds: exact fen in attributes, yuan on the page, and a total.
  EXPECT_THAT(html, HasSubstr("data-fund=\"gd-platforms\" data-capital-fen=\"500000000\""));
  EXPECT_THAT(html, HasSubstr("data-disbursed-fen=\"25000050\""));
  EXPECT_THAT(html, HasSubstr(">5,000,000.00<"));
  EXPECT_THAT(html, HasSubstr(">250,000.50<"));
  EXPECT_EQ(Count(html, "data-available-fen=\"399987655\""), 2);  // the fund and the total
  // The header.
  EXPECT_THAT(html, HasSubstr("data-period=\"2017\" data-scope=\"Guangdong (44)\""));
  EXPECT_THAT(html, HasSubstr("data-generated=\"2023-11-14T22:13:20Z\""));
  EXPECT_THAT(html, HasSubstr("registry v7"));
}

TEST(ReportPage, MissingValuesHaveNoAttributeAndADash) {
  ReportData d = Data();
  ev1::Evaluation* e = d.scorecard.mutable_evaluations(0);
  e->clear_progress();
  e->clear_forecast_value();
  e->clear_current_value();
  e->set_status(ev1::EVALUATION_STATUS_INSUFFICIENT_DATA);
  const std::string html = RenderReportHtml(d);
  const size_t card = html.find("<article");
  ASSERT_NE(card, std::string::npos);
  const std::string open_tag = html.substr(card, html.find('>', card) - card);
  EXPECT_THAT(open_tag, Not(HasSubstr("data-progress=")));
  EXPECT_THAT(open_tag, Not(HasSubstr("data-forecast=")));
  EXPECT_THAT(open_tag, Not(HasSubstr("data-current=")));
  EXPECT_THAT(open_tag, HasSubstr("data-status=\"INSUFFICIENT_DATA\""));
  EXPECT_THAT(html, HasSubstr("Insufficient data</span>"));
  EXPECT_THAT(html, HasSubstr("Progress not defined"));
}

TEST(ReportPage, EscapesTextFromTheServices) {
  ReportData d = Data();
  d.targets["dev-cycle"].set_title("<script>alert('x')</script> & co");
  d.scorecard.mutable_evaluations(0)->set_status_reason("\"quoted\" <b>reason</b>");
  d.breakdowns["dev-cycle"].mutable_groups(0)->set_label("Guang<dong>");
  d.funds[0].fund.set_name("Fund \"A\" <i>");
  const std::string html = RenderReportHtml(d);
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<b>reason")));
  EXPECT_THAT(html, Not(HasSubstr("Guang<dong>")));
  EXPECT_THAT(html, Not(HasSubstr("<i>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
  EXPECT_THAT(html, HasSubstr("&quot;quoted&quot; &lt;b&gt;reason&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("data-label=\"Guang&lt;dong&gt;\""));
  EXPECT_THAT(html, HasSubstr("Fund &quot;A&quot; &lt;i&gt;"));
}

TEST(ReportPage, IsSelfContained) {
  const std::string html = RenderReportHtml(Data());
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http:")));
  EXPECT_THAT(html, Not(HasSubstr("https:")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, HasSubstr("Content-Security-Policy\" content=\"default-src 'none'"));
  // Accessible: the chart and bars have titles, the tables header cells.
  EXPECT_THAT(html, HasSubstr("<svg class=\"trend\""));
  EXPECT_THAT(html, HasSubstr("<title id=\"chart-dev-cycle-t\">Trend of"));
  EXPECT_THAT(html, HasSubstr("<desc id=\"chart-dev-cycle-d\">Baseline 2015 150; target 132; "
                              "observed 2015: 150, 2017: 132.5; forecast for 2018: 123.8.</desc>"));
  EXPECT_THAT(html, HasSubstr("<th scope=\"col\">"));
  EXPECT_THAT(html, HasSubstr("<caption>"));
  // Balanced structure (a cheap check: every opened element of these kinds is closed).
  for (const char* tag : {"svg", "table", "article", "section", "tr", "title", "div"}) {
    EXPECT_EQ(Count(html, absl::StrCat("<", tag, " ")) + Count(html, absl::StrCat("<", tag, ">")),
              Count(html, absl::StrCat("</", tag, ">")))
        << tag;
  }
}

TEST(ReportPage, AnEmptyScorecardSaysSo) {
  ReportData d;
  d.period = "2018";
  d.generated = absl::FromUnixSeconds(0);
  const std::string html = RenderReportHtml(d);
  EXPECT_THAT(html, HasSubstr("data-empty-scorecard=\"true\""));
  EXPECT_THAT(html, HasSubstr("No active target can be evaluated for 2018"));
  EXPECT_THAT(html, Not(HasSubstr("<article")));
  EXPECT_THAT(html, HasSubstr("data-targets=\"0\""));
  EXPECT_THAT(html, HasSubstr("data-funds-empty=\"true\""));
  EXPECT_THAT(html, HasSubstr("all regions"));
}

TEST(ReportPage, AnUnreachableFundsServiceIsANoteNotAFailure) {
  ReportData d = Data();
  d.funds.clear();
  d.funds_error = "funds service unreachable at 127.0.0.1:1 (UNAVAILABLE)";
  const std::string html = RenderReportHtml(d);
  EXPECT_THAT(html, HasSubstr("data-funds-error=\"funds service unreachable at 127.0.0.1:1 "
                              "(UNAVAILABLE)\""));
  EXPECT_THAT(html, HasSubstr(">funds service unreachable at 127.0.0.1:1 (UNAVAILABLE). "));
  EXPECT_THAT(html, Not(HasSubstr("data-fund=")));
  // The scorecard is still all there.
  EXPECT_THAT(html, HasSubstr("data-forecast=\"123.75\""));
}

TEST(ReportPage, AFundWithoutStatementIsLeftOutOfTheTotal) {
  ReportData d = Data();
  fv1::Fund g;
  g.set_id("other");
  g.mutable_sponsor()->set_national(true);
  d.funds.push_back({g, std::nullopt, "fund not found (NOT_FOUND)"});
  const std::string html = RenderReportHtml(d);
  EXPECT_THAT(html, HasSubstr("data-fund=\"other\" data-statement-error=\"fund not found "
                              "(NOT_FOUND)\""));
  EXPECT_THAT(html, HasSubstr("data-total=\"true\" data-capital-fen=\"500000000\""));
  EXPECT_THAT(html, HasSubstr("data-funds=\"1\""));
  EXPECT_THAT(html, HasSubstr("not in the total"));
}

TEST(ReportPage, ABreakdownErrorIsShownInPlaceOfTheLeagueTable) {
  ReportData d = Data();
  d.breakdowns.clear();
  d.breakdown_errors["dev-cycle"] = "ingest unreachable (UNAVAILABLE)";
  const std::string html = RenderReportHtml(d);
  EXPECT_THAT(html, HasSubstr("data-breakdown-error=\"dev-cycle\""));
  EXPECT_THAT(html, Not(HasSubstr("data-league=")));
}

TEST(TrendChart, ScalesAndLabelsWithoutOverlap) {
  const ev1::Target t = DevCycle();
  ev1::Evaluation e = DevCycleEvaluation();
  const std::string svg = TrendChartSvg(e, &t);
  // Four periods on the x axis, 2016 included although nobody reported then.
  for (const char* p : {">2015<", ">2016<", ">2017<", ">2018<"}) EXPECT_THAT(svg, HasSubstr(p));
  // One line through 2015 and 2017 would hide the gap: no polyline, only points.
  EXPECT_THAT(svg, Not(HasSubstr("<polyline")));
  EXPECT_EQ(Count(svg, "<circle class=\"point\""), 2);
  // Labels of close lines are at least 13 units apart.
  std::regex label("<text class=\"lbl [a-z-]+\" x=\"[0-9.]+\" y=\"([0-9.]+)\"");
  std::vector<double> ys;
  for (std::sregex_iterator it(svg.begin(), svg.end(), label), end; it != end; ++it) {
    ys.push_back(std::stod((*it)[1]));
  }
  ASSERT_EQ(ys.size(), 3u);  // baseline, target, forecast
  std::sort(ys.begin(), ys.end());
  for (size_t i = 1; i < ys.size(); ++i) EXPECT_GE(ys[i] - ys[i - 1], 13 - 1e-9);

  // Consecutive points are joined.
  auto* p = e.add_points();
  p->set_period("2016");
  p->set_value(140);
  EXPECT_THAT(TrendChartSvg(e, &t), HasSubstr("<polyline class=\"observed\""));

  // Nothing to plot.
  ev1::Evaluation empty;
  empty.set_target_id("x");
  EXPECT_THAT(TrendChartSvg(empty, nullptr), HasSubstr("No values to plot"));
}

TEST(ReportCommand, IsInTheTableAndNeedsAFile) {
  std::ostringstream out, err;
  auto no_env = [](const char*) -> const char* { return nullptr; };
  EXPECT_EQ(ctl::Run({"report", "--period", "2018"}, out, err, no_env, false), kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--html"));
  err.str("");
  EXPECT_EQ(
      ctl::Run({"report", "--html", "x.html", "--dimension", "galaxy"}, out, err, no_env, false),
      kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--dimension: \"galaxy\""));
  err.str("");
  EXPECT_EQ(ctl::Run({"report", "--html", "x.html", "--size", "huge"}, out, err, no_env, false),
            kExitUsage);
  EXPECT_THAT(err.str(), HasSubstr("--size"));
  out.str("");
  EXPECT_EQ(ctl::Run({"report", "--help"}, out, err, no_env, false), kExitOk);
  EXPECT_THAT(out.str(), HasSubstr("usage: iplusctl report [flags]"));
  EXPECT_THAT(out.str(), HasSubstr("--region"));
  out.str("");
  EXPECT_EQ(ctl::Run({"help"}, out, err, no_env, false), kExitOk);
  EXPECT_THAT(out.str(), HasSubstr("  report "));
}

}  // namespace
}  // namespace iplus::ctl
