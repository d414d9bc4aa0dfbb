// The id table: 64-bit ids naming connection slots. An id is a slot index
// (+1) in its low kSlotBits and the slot's generation above; a slot is
// recycled with the next generation and never freed while the port lives,
// so a stale id finds a slot whose id differs — never freed memory — and an
// id is never reused within a port.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace iocpnet {

struct Conn;

namespace id_layout {
constexpr unsigned kSlotBits = 24;                      // 16M slots
constexpr uint64_t kSlotMask = (uint64_t(1) << kSlotBits) - 1;
constexpr unsigned kGenBits = 64 - kSlotBits;           // 2^40 reuses of one slot
inline uint64_t make(uint32_t index, uint64_t gen) { return (gen << kSlotBits) | (uint64_t(index) + 1); }
inline bool has_slot(uint64_t id) { return (id & kSlotMask) != 0; }
inline uint32_t index_of(uint64_t id) { return uint32_t(id & kSlotMask) - 1; }
} // namespace id_layout

class ConnTable {
  public:
    static constexpr uint32_t kChunk = 1024;
    static constexpr uint32_t kMaxChunks = uint32_t((id_layout::kSlotMask + 1) / kChunk);
    ConnTable() { for (auto &c : chunks_) c.store(nullptr, std::memory_order_relaxed); }
    ~ConnTable();
    ConnTable(const ConnTable &) = delete;
    ConnTable &operator=(const ConnTable &) = delete;

    // A free slot (its mutex not held) or NULL when out of memory or slots.
    Conn *alloc();
    void release(Conn *c); // the slot is reusable afterwards
    Conn *slot_of(uint64_t id) const; // the slot an id names, or NULL; compare its id
    uint32_t slots_used() const { return next_.load(std::memory_order_acquire); }
    Conn *at(uint32_t index) const;

  private:
    std::atomic<Conn *> chunks_[kMaxChunks];
    std::mutex mu_;
    std::vector<uint32_t> free_;
    std::atomic<uint32_t> next_{0};
};

} // namespace iocpnet
