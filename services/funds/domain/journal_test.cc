// Encodings, the hash chain and the verifier.

#include "services/funds/domain/journal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/funds/domain/codec.h"

namespace iplus::funds {
namespace {

using ::testing::HasSubstr;

Transfer Sample() {
  Transfer t;
  t.id = "t-1";
  t.debit_account_id = "fund:a";
  t.credit_account_id = "project:b:commitment";
  t.amount = 123456789;
  t.ledger = 1;
  t.type = 2;
  t.flags.pending = true;
  t.flags.linked = true;
  t.timeout_ns = 77;
  t.fund_id = "a";
  t.project_id = "b";
  t.milestone_id = "m";
  t.memo = std::string("bytes\0and\xff", 10);
  t.timestamp_ns = 1700000000123456789;
  t.journal_sequence = 42;
  return t;
}

TEST(CodecTest, TransferRecordRoundTrips) {
  Transfer t = Sample();
  std::string r = EncodeTransferRecord(t);
  EXPECT_EQ(r[0], 1);
  EXPECT_EQ(ReadBigEndian64(r.data() + 1), 42);
  auto back = DecodeTransferRecord(r);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, t);
  // pending_state is not part of the record.
  t.pending_state = PendingState::kPosted;
  EXPECT_EQ(EncodeTransferRecord(t), r);
  EXPECT_FALSE(DecodeTransferRecord(r.substr(0, r.size() - 1)).ok());
  EXPECT_FALSE(DecodeTransferRecord(r + "x").ok());
  std::string bad_version = r;
  bad_version[0] = 2;
  EXPECT_EQ(DecodeTransferRecord(bad_version).status().code(), absl::StatusCode::kDataLoss);
  // The strings start at the documented offset, debit account second.
  EXPECT_EQ(ReadBigEndian32(r.data() + kRecordFixedSize), 3);
  EXPECT_EQ(r.substr(kRecordFixedSize + 4, 3), "t-1");
  EXPECT_EQ(r.substr(kRecordFixedSize + 4 + 3 + 4, 6), "fund:a");
}

TEST(CodecTest, AccountAndHeadRoundTrip) {
  Account a;
  a.id = "fund:x";
  a.kind = AccountKind::kProjectDisbursed;
  a.flags.credits_must_not_exceed_debits = true;
  a.ledger = 1;
  a.debits_pending = 1;
  a.debits_posted = INT64_MAX;
  a.credits_pending = 3;
  a.credits_posted = 4;
  a.create_time_ns = 5;
  a.fund_id = "x";
  a.project_id = "p";
  auto back = DecodeAccount("fund:x", EncodeAccount(a));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, a);
  EXPECT_FALSE(DecodeAccount("fund:x", "junk").ok());

  JournalHead h{7, Sha256Hex("x"), 99};
  auto hb = DecodeHead(EncodeHead(h));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(*hb, h);
  EXPECT_EQ(EncodeHead(JournalHead{0, std::string(kZeroHash), 0}), "");
  auto empty = DecodeHead("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->sequence, 0);
  EXPECT_EQ(empty->hash, kZeroHash);
}

TEST(CodecTest, BigEndianSortsLikeNumbers) {
  EXPECT_LT(BigEndian64(255), BigEndian64(256));
  EXPECT_LT(BigEndian64(1700000000000000000), BigEndian64(1700000000000000001));
}

TEST(HashTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(EntryHash("ab", "c"), Sha256Hex("abc"));
}

// A tiny journal: capital into a fund, a pending commitment, its partial post.
struct Fixture {
  std::vector<std::string> records;
  std::vector<std::string> hashes;
  std::vector<Account> accounts;

  Fixture() {
    Transfer t1;
    t1.id = "cap";
    t1.debit_account_id = "src";
    t1.credit_account_id = "fund";
    t1.amount = 100;
    t1.ledger = 1;
    t1.type = 1;
    Transfer t2 = t1;
    t2.id = "commit";
    t2.debit_account_id = "fund";
    t2.credit_account_id = "proj";
    t2.amount = 60;
    t2.flags.pending = true;
    Transfer t3 = t2;
    t3.id = "post";
    t3.flags.pending = false;
    t3.flags.post_pending_transfer = true;
    t3.pending_id = "commit";
    t3.amount = 50;
    std::string prev(kZeroHash);
    int64_t seq = 0;
    for (Transfer t : {t1, t2, t3}) {
      t.journal_sequence = ++seq;
      t.timestamp_ns = 1000 + seq;
      records.push_back(EncodeTransferRecord(t));
      prev = EntryHash(prev, records.back());
      hashes.push_back(prev);
    }
    Account src, fund, proj;
    src.id = "src";
    src.debits_posted = 100;
    fund.id = "fund";
    fund.credits_posted = 100;
    fund.debits_posted = 50;
    proj.id = "proj";
    proj.credits_posted = 50;
    accounts = {fund, proj, src};
  }

  VerifyReport Run(const JournalHead* head = nullptr) const {
    JournalVerifier v;
    for (size_t i = 0; i < records.size(); ++i) {
      if (!v.AddEntry(static_cast<int64_t>(i + 1), records[i], hashes[i])) break;
    }
    JournalHead h{static_cast<int64_t>(records.size()), hashes.back(), 0};
    v.CheckHead(head != nullptr ? *head : h);
    for (const Account& a : accounts) {
      if (!v.CheckAccount(a)) break;
    }
    return v.Finish();
  }
};

TEST(VerifierTest, AGoodJournalVerifies) {
  Fixture f;
  VerifyReport r = f.Run();
  EXPECT_TRUE(r.ok) << r.discrepancy;
  EXPECT_EQ(r.entries_checked, 3);
  EXPECT_EQ(r.balances_checked, 3);
  EXPECT_EQ(r.head_sequence, 3);
  EXPECT_EQ(r.head_hash, f.hashes.back());
  EXPECT_EQ(r.first_bad_sequence, 0);
}

TEST(VerifierTest, ATamperedEntryIsTheFirstBadSequence) {
  Fixture f;
  auto t = DecodeTransferRecord(f.records[1]);
  ASSERT_TRUE(t.ok());
  t->amount = 61;
  f.records[1] = EncodeTransferRecord(*t);
  VerifyReport r = f.Run();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 2);
  EXPECT_THAT(r.discrepancy, HasSubstr("entry 2 hash"));
  EXPECT_EQ(r.entries_checked, 1);
}

TEST(VerifierTest, ARechainedForgeryIsCaughtByTheBalances) {
  // Whoever rewrites an entry and recomputes every later hash still cannot make the
  // balances agree without also rewriting them (and the head recorded elsewhere).
  Fixture f;
  auto t = DecodeTransferRecord(f.records[2]);
  ASSERT_TRUE(t.ok());
  t->amount = 10;
  f.records[2] = EncodeTransferRecord(*t);
  f.hashes[2] = EntryHash(f.hashes[1], f.records[2]);
  VerifyReport r = f.Run();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 0);
  EXPECT_EQ(r.discrepancy, "account fund debits_posted 50 != 10 recomputed");
}

TEST(VerifierTest, MissingEntriesWrongHeadAndUnknownAccounts) {
  {
    Fixture f;
    JournalVerifier v;
    EXPECT_TRUE(v.AddEntry(1, f.records[0], f.hashes[0]));
    EXPECT_FALSE(v.AddEntry(3, f.records[2], f.hashes[2]));
    VerifyReport r = v.Finish();
    EXPECT_EQ(r.first_bad_sequence, 2);
    EXPECT_THAT(r.discrepancy, HasSubstr("entry 2 missing"));
  }
  {
    Fixture f;
    JournalHead wrong{3, f.hashes[1], 0};
    VerifyReport r = f.Run(&wrong);
    EXPECT_FALSE(r.ok);
    EXPECT_THAT(r.discrepancy, HasSubstr("head"));
  }
  {
    Fixture f;
    f.accounts.pop_back();  // src not stored
    VerifyReport r = f.Run();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.discrepancy, "account src is moved by the journal but not stored");
  }
  {
    Fixture f;
    Account extra;
    extra.id = "zzz";
    extra.credits_posted = 1;
    f.accounts.push_back(extra);
    VerifyReport r = f.Run();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.discrepancy, "account zzz credits_posted 1 != 0 recomputed");
  }
  {
    // A post of a pending transfer the journal never opened.
    Fixture f;
    JournalVerifier v;
    auto t = DecodeTransferRecord(f.records[2]);
    t->journal_sequence = 1;
    std::string rec = EncodeTransferRecord(*t);
    EXPECT_FALSE(v.AddEntry(1, rec, EntryHash(kZeroHash, rec)));
    EXPECT_THAT(v.Finish().discrepancy, HasSubstr("not an open pending transfer"));
  }
}

}  // namespace
}  // namespace iplus::funds
