// ParsePeriod on arbitrary bytes. A parsed period prints back to exactly the input and
// parses again to the same value; its neighbours, ordinal and days are consistent.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/refdata/period.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iplus::refdata;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto parsed = ParsePeriod(text);
  if (!parsed.ok()) return 0;
  const Period p = *parsed;

  const std::string printed = p.ToString();
  const auto again = ParsePeriod(printed);
  FUZZ_CHECK(again.ok(), text + " printed as " + printed);
  FUZZ_CHECK(*again == p, text + " printed as " + printed);
  // The accepted spellings are canonical: nothing else parses.
  FUZZ_CHECK(printed == text, text + " printed as " + printed);

  FUZZ_CHECK(p.year >= kMinPeriodYear && p.year <= kMaxPeriodYear, text);
  FUZZ_CHECK(PeriodFromOrdinal(p.granularity, PeriodOrdinal(p)) == p, text);
  FUZZ_CHECK(p.Next().Previous() == p && p.Previous().Next() == p, text);
  FUZZ_CHECK(p < p.Next() && p.Previous() < p, text);
  FUZZ_CHECK(PeriodOrdinal(p.Next()) == PeriodOrdinal(p) + 1, text);
  FUZZ_CHECK(FirstDayOf(p) <= LastDayOf(p), text);
  FUZZ_CHECK(LastDayOf(p) + 1 == FirstDayOf(p.Next()), text);
  FUZZ_CHECK(p.Contains(p) && YearOf(p).Contains(p), text);
  FUZZ_CHECK(!StartsAfter(p, FirstDayOf(p)) && StartsAfter(p, FirstDayOf(p) - 1), text);
  return 0;
}
