// Receive buffers of one worker, for the backends that read into memory of
// their own (epoll; IOCP after a zero-byte WSARecv completed). Allocated on
// demand up to a cap, so an idle connection holds none and a burst cannot
// grow memory without bound; a socket whose data finds no free buffer waits
// until one comes back. Used on its worker's thread only: no lock.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace iocpnet {

class RecvPool {
  public:
    static constexpr size_t kSize = 64 * 1024;
    static constexpr uint32_t kMax = 512; // 32 MiB per worker at most

    RecvPool() = default;
    RecvPool(const RecvPool &) = delete;
    RecvPool &operator=(const RecvPool &) = delete;
    ~RecvPool() {
        for (uint32_t i = 0; i < count_; i++) free(bufs_[i]);
    }

    // A free buffer's index, or -1 when all kMax are in use (or malloc failed).
    int get() {
        if (!free_.empty()) {
            uint32_t i = free_.back();
            free_.pop_back();
            return int(i);
        }
        if (count_ == kMax) return -1;
        // Reserved up front so that put() never allocates (nothing may throw
        // across the contract).
        if (free_.capacity() < kMax) {
            try {
                free_.reserve(kMax);
            } catch (...) {
                return -1;
            }
        }
        auto *b = static_cast<uint8_t *>(malloc(kSize));
        if (!b) return -1;
        bufs_[count_] = b;
        return int(count_++);
    }
    void put(uint32_t idx) { free_.push_back(idx); }
    uint8_t *data(uint32_t idx) const { return bufs_[idx]; }
    bool available() const { return !free_.empty() || count_ < kMax; }

  private:
    uint8_t *bufs_[kMax] = {};
    uint32_t count_ = 0;
    std::vector<uint32_t> free_;
};

} // namespace iocpnet
