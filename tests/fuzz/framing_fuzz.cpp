// libFuzzer target: the engine's decoders against the reference decoder, on
// arbitrary streams cut at arbitrary points. Input layout: byte 0 picks the
// framing and max_message_size, bytes 1..8 are chunk sizes, the rest is the
// stream.
#include <cstdlib>

#include "framing_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 9) return 0;
    uint32_t framing = (data[0] & 1) ? IOCPNET_FRAMING_LINE : IOCPNET_FRAMING_LENGTH_PREFIX;
    static const uint32_t maxes[] = {0, 1, 3, 16, 255, 4096, 1u << 20, 0xFFFFFFFFu};
    uint32_t max = maxes[(data[0] >> 1) & 7];
    std::vector<size_t> cuts(data + 1, data + 9);
    std::string in(reinterpret_cast<const char *>(data + 9), size - 9);
    auto want = iocpnet_test::reference_decode(framing, max, in);
    auto got = iocpnet_test::engine_decode(framing, max, in, cuts);
    if (!(want == got)) abort();
    return 0;
}
