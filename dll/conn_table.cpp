#include "conn_table.hpp"

#include <new>

#include "connection.hpp"

namespace iocpnet {

ConnTable::~ConnTable() {
    for (auto &ch : chunks_) delete[] ch.load();
}

Conn *ConnTable::alloc() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!free_.empty()) {
        uint32_t index = free_.back();
        free_.pop_back();
        return at(index);
    }
    uint32_t index = next_.load(std::memory_order_relaxed);
    if (index >= kChunk * kMaxChunks) return nullptr;
    if (index % kChunk == 0) {
        Conn *chunk = new (std::nothrow) Conn[kChunk];
        if (!chunk) return nullptr;
        for (uint32_t i = 0; i < kChunk; ++i) chunk[i].slot = index + i;
        chunks_[index / kChunk].store(chunk, std::memory_order_release);
    }
    next_.store(index + 1, std::memory_order_release);
    return at(index);
}

void ConnTable::release(Conn *c) {
    std::lock_guard<std::mutex> lk(mu_);
    free_.push_back(c->slot);
}

Conn *ConnTable::at(uint32_t index) const {
    Conn *chunk = chunks_[index / kChunk].load(std::memory_order_acquire);
    return chunk ? &chunk[index % kChunk] : nullptr;
}

Conn *ConnTable::slot_of(uint64_t id) const {
    if (!id_layout::has_slot(id)) return nullptr;
    uint32_t index = id_layout::index_of(id);
    if (index >= next_.load(std::memory_order_acquire)) return nullptr;
    return at(index);
}

} // namespace iocpnet
