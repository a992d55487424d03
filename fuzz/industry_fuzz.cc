// ValidateIndustryCode and ValidateIndustryPrefix on arbitrary bytes. Every valid code is
// also a valid prefix, its division exists, and manufacturing means section C.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/refdata/industry.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iplus::refdata;
  const std::string text(reinterpret_cast<const char*>(data), size);

  const bool prefix_ok = ValidateIndustryPrefix(text).ok();
  if (prefix_ok) FUZZ_CHECK(text.size() <= 5, text);
  (void)FindDivision(text);
  const bool manufacturing = IsManufacturing(text);

  if (!ValidateIndustryCode(text).ok()) {
    FUZZ_CHECK(!manufacturing, text);
    return 0;
  }
  FUZZ_CHECK(prefix_ok, text);
  const std::string division = DivisionOf(text);
  FUZZ_CHECK(division.size() == 3 && text.compare(0, 3, division) == 0, text + " -> " + division);
  const auto found = FindDivision(division);
  FUZZ_CHECK(found.has_value(), text + " -> " + division);
  FUZZ_CHECK(found->section == text[0], text);
  FUZZ_CHECK(manufacturing == IsManufacturing(division), text);
  if (manufacturing) FUZZ_CHECK(text[0] == 'C', text);
  return 0;
}
