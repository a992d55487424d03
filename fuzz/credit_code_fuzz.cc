// ValidateCreditCode on arbitrary bytes. For every code it accepts, CompleteCreditCode of
// the first 16 characters must give the same code back, and the region part is six digits.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "common/refdata/credit_code.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iplus::refdata;
  const std::string code(reinterpret_cast<const char*>(data), size);
  const bool ok = ValidateCreditCode(code).ok();

  // Helpers with a REQUIRES clause return an empty value on bad input; they must not crash.
  (void)OrgCodeCheckChar(absl::string_view(code).substr(0, 8));
  (void)CreditCodeCheckChar(absl::string_view(code).substr(0, 17));
  const std::string completed = CompleteCreditCode(absl::string_view(code).substr(0, 16));
  (void)RegionOfCreditCode(code);

  if (!ok) return 0;
  FUZZ_CHECK(code.size() == static_cast<size_t>(kCreditCodeLength), code);
  FUZZ_CHECK(completed == code, code + " completed to " + completed);
  const std::string region = RegionOfCreditCode(code);
  FUZZ_CHECK(region.size() == 6, code);
  for (char c : region) FUZZ_CHECK(absl::ascii_isdigit(static_cast<unsigned char>(c)), code);
  FUZZ_CHECK(CreditCodeCheckChar(absl::string_view(code).substr(0, 17)) == code[17], code);
  return 0;
}
