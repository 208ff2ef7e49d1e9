// The one median every benchmark in bench/ reports.
#pragma once

#include <algorithm>
#include <vector>

namespace tandem::bench {

// The median of repeated runs: the middle value, or the mean of the two middle
// values for an even count; -1 ("failed" in the tables) when there are none.
inline double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

}  // namespace tandem::bench
