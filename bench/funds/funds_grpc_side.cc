#include "bench/funds/funds_grpc_side.h"

#include <atomic>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/redis/client.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "iplus/funds/v1/funds.grpc.pb.h"
#include "services/funds/app.h"

namespace iplus::funds::bench {
namespace {

namespace v1 = ::iplus::funds::v1;

constexpr int64_t kOpeningBalance = 1'000'000'000'000;  // fen per fund, as on PostgreSQL
constexpr int kSetupThreads = 8;

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

class FundsSide : public Side {
 public:
  explicit FundsSide(const test::RedisServer& redis)
      : redis_pid_(redis.pid()), monitor_(MonitorOptions(redis)) {
    AppConfig config;
    config.server.service_name = "funds";
    config.server.grpc_address = "127.0.0.1:0";
    config.server.metrics_address = "";
    config.server.auth.allow_unauthenticated = true;
    // As iplus-funds' defaults: 16 pooled connections, 1 s command timeout.
    config.redis.port = redis.port();
    config.redis.pool_size = 16;
    config.redis.command_timeout = absl::Seconds(1);
    app_ = std::make_unique<App>(std::move(config));
  }
  ~FundsSide() override {
    stubs_.clear();
    app_->Shutdown();
  }

  std::string name() const override { return "iplus"; }
  pid_t server_pid() const override { return redis_pid_; }

  absl::StatusOr<LogSize> LogBytes() override {
    auto info = monitor_.Command({"INFO", "persistence"});
    if (!info.ok()) return info.status();
    const std::string& text = info->str();
    auto field = [&](const std::string& name) -> absl::StatusOr<int64_t> {
      const std::string key = name + ":";
      const size_t at = text.find(key);
      int64_t v = 0;
      if (at == std::string::npos ||
          !absl::SimpleAtoi(absl::StripAsciiWhitespace(text.substr(
                                at + key.size(), text.find('\n', at) - at - key.size())),
                            &v)) {
        return absl::InternalError(absl::StrCat("no ", name, " in INFO persistence"));
      }
      return v;
    };
    auto bytes = field("aof_current_size");
    if (!bytes.ok()) return bytes.status();
    auto rewrites = field("aof_rewrites");
    if (!rewrites.ok()) return rewrites.status();
    auto in_progress = field("aof_rewrite_in_progress");
    if (!in_progress.ok()) return in_progress.status();
    // A rewrite in progress counts as one more: its end changes the size.
    return LogSize{*bytes, *rewrites + *in_progress};
  }

  absl::Status Start() {
    if (absl::Status s = app_->Start(); !s.ok()) return s;
    // Health turns SERVING once the durability check has passed.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    auto stub = NewStub();
    while (absl::Now() < deadline) {
      grpc::ClientContext ctx;
      v1::GetFundRequest req;
      req.set_id("none");
      v1::GetFundResponse resp;
      const grpc::Status s = stub->GetFund(&ctx, req, &resp);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE) return absl::OkStatus();
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::UnavailableError("the funds service did not become ready within 30 s");
  }

  absl::Status Prepare(int n_accounts, int max_clients) override {
    for (int c = 0; c < std::max(max_clients, kSetupThreads); ++c) stubs_.push_back(NewStub());
    accounts_.assign(n_accounts, "");
    std::atomic<int> next{0};
    std::vector<absl::Status> errors(kSetupThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kSetupThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = next++; i < n_accounts; i = next++) {
          absl::Status s = CreateFund(*stubs_[t], i);
          if (!s.ok()) {
            errors[t] = s;
            return;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const absl::Status& s : errors) {
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> Call(int client, const std::vector<WorkTransfer>& batch) override {
    v1::CreateTransfersRequest req;
    req.mutable_transfers()->Reserve(static_cast<int>(batch.size()));
    for (const WorkTransfer& w : batch) {
      v1::Transfer* t = req.add_transfers();
      t->set_id(w.id);
      t->set_debit_account_id(accounts_[w.debit]);
      t->set_credit_account_id(accounts_[w.credit]);
      t->set_amount(w.amount);
      t->set_ledger(1);
      t->set_type(v1::IATI_TRANSACTION_TYPE_INCOMING_FUNDS);
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::CreateTransfersResponse resp;
    if (absl::Status s =
            FromGrpc(stubs_[client]->CreateTransfers(&ctx, req, &resp), "CreateTransfers");
        !s.ok()) {
      return s;
    }
    int ok = 0;
    for (const auto& r : resp.results()) ok += r.result() == v1::CREATE_TRANSFER_RESULT_OK;
    return ok;
  }

  absl::StatusOr<std::string> Check(int64_t ok_transfers) override {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(600));
    v1::VerifyJournalResponse resp;
    if (absl::Status s = FromGrpc(stubs_[0]->VerifyJournal(&ctx, v1::VerifyJournalRequest(), &resp),
                                  "VerifyJournal");
        !s.ok()) {
      return s;
    }
    // The journal holds one capitalisation per fund and every OK transfer.
    const int64_t expected = ok_transfers + static_cast<int64_t>(accounts_.size());
    if (!resp.ok() || resp.entries_checked() != expected) {
      return absl::InternalError(absl::StrCat("VerifyJournal: ok=", resp.ok(), ", ",
                                              resp.entries_checked(), " entries for ", expected,
                                              " expected; ", resp.discrepancy()));
    }
    return absl::StrCat("VerifyJournal ok: ", resp.entries_checked(), " entries (",
                        accounts_.size(), " capitalisations + every OK transfer), ",
                        resp.balances_checked(), " balances");
  }

 private:
  std::unique_ptr<v1::FundsService::Stub> NewStub() {
    grpc::ChannelArguments args;
    // One TCP connection per client, as separate client processes would have.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("iplus.bench.channel", static_cast<int>(stubs_.size()));
    args.SetMaxReceiveMessageSize(32 * 1024 * 1024);
    return v1::FundsService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", app_->grpc_port()), grpc::InsecureChannelCredentials(), args));
  }

  absl::Status CreateFund(v1::FundsService::Stub& stub, int i) {
    const std::string id = absl::StrCat("bench-fund-", i);
    {
      grpc::ClientContext ctx;
      v1::CreateFundRequest req;
      v1::Fund* f = req.mutable_fund();
      f->set_id(id);
      f->set_name(absl::StrCat("Benchmark fund ", i));
      f->mutable_sponsor()->set_national(true);
      f->add_focus_areas(v1::FOCUS_AREA_INTELLIGENT_MANUFACTURING);
      f->set_currency("CNY");
      req.set_request_id(absl::StrCat("bench-create-", i));
      v1::CreateFundResponse resp;
      if (absl::Status s = FromGrpc(stub.CreateFund(&ctx, req, &resp), "CreateFund"); !s.ok()) {
        return s;
      }
      accounts_[i] = resp.fund().fund_account_id();
    }
    grpc::ClientContext ctx;
    v1::CapitaliseFundRequest req;
    req.set_fund_id(id);
    req.mutable_amount()->set_currency("CNY");
    req.mutable_amount()->set_fen(kOpeningBalance);
    req.set_request_id(absl::StrCat("bench-capitalise-", i));
    v1::CapitaliseFundResponse resp;
    return FromGrpc(stub.CapitaliseFund(&ctx, req, &resp), "CapitaliseFund");
  }

  static redis::Options MonitorOptions(const test::RedisServer& redis) {
    redis::Options o;
    o.port = redis.port();
    o.pool_size = 1;
    return o;
  }

  pid_t redis_pid_;
  redis::Client monitor_;
  std::unique_ptr<App> app_;
  std::vector<std::unique_ptr<v1::FundsService::Stub>> stubs_;
  std::vector<std::string> accounts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Side>> MakeFundsSide(const test::RedisServer& redis) {
  auto side = std::make_unique<FundsSide>(redis);
  if (absl::Status s = side->Start(); !s.ok()) return s;
  return std::unique_ptr<Side>(std::move(side));
}

}  // namespace iplus::funds::bench
