// The bound on one reply of a cache node's partition (`max_reply_bytes`,
// actors/cache.hpp): CAF 0.17 has no maximum message size, so a remote
// `match` or `for_each` of a large partition is refused by the node with
// `too_large` instead of arriving as one message the caller decodes at once.

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "actors/cache.hpp"
#include "tests/loopback.hpp"

using namespace supercache;

TEST_CASE("a remote match or for_each of a partition holding more than "
          "max_reply_bytes fails with too_large naming the limit, and "
          "narrower patterns still work") {
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  options popts;
  popts.buffers = 1;
  // Remote requests wait `connect_timeout` (5 s by default): the node
  // decodes and measures 65 MiB per scan, which takes longer than that
  // under AddressSanitizer beside other tests.
  popts.connect_timeout = std::chrono::seconds(120);
  testing::loopback_pair net{opts, popts};
  auto& producer = net.producer;
  // 65 records of 1 MiB: one partition of just over 64 MiB.
  constexpr int64_t n = 65;
  const std::string big(size_t{1} << 20, 'x');
  std::vector<record> xs;
  for (int64_t i = 0; i < n; ++i)
    xs.push_back(record::array({i, big}));
  REQUIRE_EQ(net.node.put_batch(std::move(xs)), caf::none);
  auto all = producer.match(record::array());
  REQUIRE_FALSE(static_cast<bool>(all));
  CHECK_EQ(all.error(), errc::too_large);
  auto what = render(all.error());
  CAPTURE(what);
  CHECK_NE(what.find("max_reply_bytes = 67108864"), std::string::npos);
  CHECK_NE(what.find("a match reply of 65 records"), std::string::npos);
  size_t visited = 0;
  CHECK_EQ(producer.for_each([&](const record&) { ++visited; }),
           errc::too_large);
  CHECK_EQ(visited, 0u);
  // A pattern that fixes the key, and get, are answered; the node goes on.
  auto one = producer.match(record::array({7}));
  REQUIRE(one);
  REQUIRE_EQ(one->size(), 1u);
  CHECK_EQ((*one)[0][1].get_ref<const std::string&>().size(), big.size());
  auto got = producer.get(record::array({8}));
  REQUIRE(got);
  CHECK_EQ(got->size(), 1u);
  CHECK_EQ(*producer.size(), static_cast<size_t>(n));
  net.stop();
}

TEST_CASE("a remote get of a bag key whose records exceed max_reply_bytes "
          "fails with too_large, and the other keys are still answered") {
  options opts;
  opts.buffers = 1;
  opts.partitions = 1;
  opts.type = table_type::bag;
  auto popts = opts;
  popts.connect_timeout = std::chrono::seconds(120); // as above
  testing::loopback_pair net{opts, popts};
  // 65 records of 1 MiB under key 1, one small record under key 2.
  const std::string big(size_t{1} << 20, 'x');
  std::vector<record> xs;
  for (int64_t i = 0; i < 65; ++i)
    xs.push_back(record::array({1, i, big}));
  xs.push_back(record::array({2, 0, "small"}));
  REQUIRE_EQ(net.node.put_batch(std::move(xs)), caf::none);
  auto all = net.producer.get(record::array({1}));
  REQUIRE_FALSE(static_cast<bool>(all));
  CHECK_EQ(all.error(), errc::too_large);
  auto what = render(all.error());
  CAPTURE(what);
  CHECK_NE(what.find("a get reply of 65 records exceeds max_reply_bytes = "
                     "67108864 bytes at record 64"),
           std::string::npos);
  std::vector<record> out{record(1)};
  CHECK_EQ(net.producer.get(record::array({1}), out), errc::too_large);
  CHECK(out.empty());
  auto small = net.producer.get(record::array({2}));
  REQUIRE(small);
  CHECK_EQ(*small, std::vector<record>{record::array({2, 0, "small"})});
  net.stop();
}
