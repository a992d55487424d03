#!/usr/bin/env bash
# Usage: check_format.sh CLANG_FORMAT SOURCE_DIR — fails listing unformatted files.
set -euo pipefail
clang_format=$1
cd "$2"
bad=()
while IFS= read -r f; do
  "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cc' '*.h' 2>/dev/null || find common services bench tests -name '*.cc' -o -name '*.h')
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not clang-formatted (run clang-format -i):\n'
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "all C++ sources are clang-formatted"
