// Out-of-line parts of support.hpp that need platform code.
#include "support.hpp"

#include <fstream>

namespace t {

long long rss_kib() {
#ifdef __linux__
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.compare(0, 6, "VmRSS:") == 0) return std::atoll(line.c_str() + 6);
    }
#endif
    return -1;
}

} // namespace t
