// Out-of-line parts of support.hpp that need platform code.
#include "support.hpp"

#include <fstream>

#ifdef _WIN32
#  ifndef PSAPI_VERSION
#    define PSAPI_VERSION 2 // GetProcessMemoryInfo = K32GetProcessMemoryInfo, in kernel32
#  endif
#  include <windows.h>
#  include <psapi.h>
#endif

namespace t {

long long rss_kib() {
#ifdef __linux__
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.compare(0, 6, "VmRSS:") == 0) return std::atoll(line.c_str() + 6);
    }
#elif defined(_WIN32)
    PROCESS_MEMORY_COUNTERS pmc;
    memset(&pmc, 0, sizeof pmc);
    pmc.cb = sizeof pmc;
    if (K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)) return (long long)(pmc.WorkingSetSize / 1024);
#endif
    return -1;
}

} // namespace t
