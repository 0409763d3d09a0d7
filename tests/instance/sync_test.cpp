// The synchronous calls of a local cache write straight into the tables:
// put and put_batch visible at return, validated all-or-nothing, ordered
// after the same thread's lazy_puts, safe beside concurrent gets, usable
// inside actor handlers; put_batch against a cache node.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/fixture.hpp"
#include "tests/loopback.hpp"

using namespace supercache;
using testing::make_record;

namespace {

record versioned(int64_t key, int64_t version) {
  return record::array(
    {key, "v" + std::to_string(key) + "-" + std::to_string(version)});
}

/// Returns the records of `inst` under `key`, or fails the test.
std::vector<record> lookup(instance& inst, int64_t key) {
  auto xs = inst.get(record::array({key}));
  REQUIRE(xs);
  return *xs;
}

/// Returns the records of `x`, or none if it holds an error.
std::vector<record> value_or_empty(caf::expected<std::vector<record>> x) {
  return x ? std::move(*x) : std::vector<record>{};
}

} // namespace

TEST_CASE("put_batch stores every record of a set and of a bag, each "
          "visible to get when it returns") {
  for (auto type : {table_type::set, table_type::bag}) {
    testing::threaded_config cfg{2};
    caf::actor_system sys{cfg};
    instance inst{sys};
    options opts;
    opts.type = type;
    opts.partitions = 3;
    opts.key_pos = 1;
    opts.partition_pos = 2;
    REQUIRE_EQ(inst.start(opts), caf::none);
    // [tag, key, partition]: the key at 1, the partition element at 2.
    auto rec = [](int64_t tag, int64_t key) {
      return record::array({tag, key, key % 7});
    };
    for (int64_t round = 0; round < 2; ++round) {
      std::vector<record> xs;
      for (int64_t k = 0; k < 500; ++k)
        xs.push_back(rec(round, k));
      REQUIRE_EQ(inst.put_batch(xs), caf::none);
      for (int64_t k = 0; k < 500; ++k) {
        auto got = inst.get(record::array({nullptr, k, k % 7}));
        REQUIRE(got);
        if (type == table_type::set) {
          REQUIRE_EQ(*got, std::vector<record>{rec(round, k)});
        } else {
          std::vector<record> want;
          for (int64_t r = 0; r <= round; ++r)
            want.push_back(rec(r, k));
          REQUIRE_EQ(*got, want);
        }
      }
    }
    CHECK_EQ(*inst.size(), type == table_type::set ? 500u : 1000u);
    REQUIRE_EQ(inst.put(rec(9, 3)), caf::none);
    auto got = inst.get(record::array({nullptr, 3, 3}));
    CHECK_EQ(got->back(), rec(9, 3));
    REQUIRE_EQ(inst.stop(), caf::none);
  }
}

TEST_CASE("put_batch with one bad record returns invalid_record naming its "
          "index and stores no record of the batch") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.partitions = 2;
  REQUIRE_EQ(inst.start(opts), caf::none);
  std::vector<record> xs;
  for (int64_t k = 0; k < 10; ++k)
    xs.push_back(make_record(k));
  xs[7] = record::array({}); // too short
  auto err = inst.put_batch(xs);
  CHECK_EQ(err, errc::invalid_record);
  CHECK_NE(render(err).find("record 7 "), std::string::npos);
  CHECK_EQ(*inst.size(), 0u);
  xs[7] = "not an array";
  err = inst.put_batch(xs);
  CHECK_EQ(err, errc::invalid_record);
  CHECK_NE(render(err).find("JSON array"), std::string::npos);
  CHECK_NE(render(err).find("record 7 "), std::string::npos);
  CHECK_EQ(*inst.size(), 0u);
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("put after the same thread's lazy_put of the same key leaves the "
          "put's record after flush, every time, with the buffers under "
          "load") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  REQUIRE_EQ(inst.start(opts), caf::none);
  // Load: another thread keeps lazy_putting other keys into the buffers.
  std::atomic<bool> done{false};
  std::thread load{[&] {
    for (int64_t i = 1'000'000; !done.load(); ++i)
      static_cast<void>(inst.lazy_put(make_record(i % 1'000'000 + 1'000'000)));
  }};
  constexpr int64_t keys = 2000;
  for (int64_t k = 0; k < keys; ++k) {
    REQUIRE_EQ(inst.lazy_put(versioned(k, 1)), caf::none);
    if (k % 2 == 0) {
      REQUIRE_EQ(inst.put(versioned(k, 2)), caf::none);
    } else {
      REQUIRE_EQ(inst.put_batch({versioned(k, 2)}), caf::none);
    }
    REQUIRE_EQ(lookup(inst, k), std::vector<record>{versioned(k, 2)});
  }
  done = true;
  load.join();
  REQUIRE_EQ(inst.flush(), caf::none);
  for (int64_t k = 0; k < keys; ++k)
    REQUIRE_EQ(lookup(inst, k), std::vector<record>{versioned(k, 2)});
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("erase after the same thread's lazy_put of the same key removes "
          "the record, every time, with the buffers under load") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.buffers = 2;
  opts.partitions = 2;
  REQUIRE_EQ(inst.start(opts), caf::none);
  std::atomic<bool> done{false};
  std::thread load{[&] {
    for (int64_t i = 1'000'000; !done.load(); ++i)
      static_cast<void>(inst.lazy_put(make_record(i % 1'000'000 + 1'000'000)));
  }};
  constexpr int64_t keys = 2000;
  for (int64_t k = 0; k < keys; ++k) {
    REQUIRE_EQ(inst.lazy_put(versioned(k, 1)), caf::none);
    auto n = inst.erase(record::array({k}));
    REQUIRE(n);
    REQUIRE_EQ(*n, 1u);
    REQUIRE(lookup(inst, k).empty());
  }
  done = true;
  load.join();
  REQUIRE_EQ(inst.flush(), caf::none);
  for (int64_t k = 0; k < keys; ++k)
    REQUIRE(lookup(inst, k).empty());
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("concurrent puts, put_batches and gets of the same keys never see "
          "a torn or missing record") {
  testing::threaded_config cfg{2};
  caf::actor_system sys{cfg};
  instance inst{sys};
  options opts;
  opts.partitions = 2;
  REQUIRE_EQ(inst.start(opts), caf::none);
  constexpr int64_t keys = 64;
  std::vector<record> first;
  for (int64_t k = 0; k < keys; ++k)
    first.push_back(versioned(k, 0));
  REQUIRE_EQ(inst.put_batch(first), caf::none);
  constexpr int64_t rounds = 300;
  std::atomic<int64_t> bad{0};
  auto writer = [&](bool batch) {
    for (int64_t v = 1; v <= rounds; ++v) {
      std::vector<record> xs;
      for (int64_t k = 0; k < keys; ++k)
        xs.push_back(versioned(k, v));
      if (batch) {
        if (inst.put_batch(std::move(xs)))
          ++bad;
      } else {
        for (auto& x : xs)
          if (inst.put(std::move(x)))
            ++bad;
      }
    }
  };
  auto reader = [&] {
    for (int64_t n = 0; n < rounds * keys; ++n) {
      auto k = n % keys;
      auto xs = inst.get(record::array({k}));
      if (!xs || xs->size() != 1 || (*xs)[0].size() != 2 || (*xs)[0][0] != k
          || (*xs)[0][1].get<std::string>().rfind(
               "v" + std::to_string(k) + "-", 0)
               != 0)
        ++bad;
    }
  };
  std::thread w1{writer, false};
  std::thread w2{writer, true};
  std::thread r1{reader};
  reader();
  w1.join();
  w2.join();
  r1.join();
  CHECK_EQ(bad.load(), 0);
  CHECK_EQ(*inst.size(), static_cast<size_t>(keys));
  for (int64_t k = 0; k < keys; ++k)
    CHECK_EQ(lookup(inst, k), std::vector<record>{versioned(k, rounds)});
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("put inside an actor's handler stores at once, and returns "
          "would_deadlock while that worker's lazy_puts are pending") {
  // One worker: while the handler runs, the buffer cannot run, so the
  // lazy_put before the second put is pending for certain.
  testing::threaded_config cfg{1};
  caf::actor_system sys{cfg};
  instance inst{sys};
  REQUIRE_EQ(inst.start(), caf::none);
  std::vector<caf::error> errs;
  std::vector<std::vector<record>> seen;
  auto hdl = sys.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](caf::get_atom) {
      errs.push_back(inst.put(versioned(1, 1)));
      errs.push_back(inst.put_batch({versioned(2, 1), versioned(3, 1)}));
      for (int64_t k = 1; k <= 3; ++k)
        seen.push_back(value_or_empty(inst.get(record::array({k}))));
      errs.push_back(inst.lazy_put(versioned(4, 1)));
      errs.push_back(inst.put(versioned(4, 2)));
      return caf::ok_atom::value;
    }};
  });
  {
    caf::scoped_actor self{sys};
    self->request(hdl, std::chrono::seconds(30), caf::get_atom::value)
      .receive([](caf::ok_atom) {},
               [](caf::error& err) { FAIL(render(err)); });
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  }
  REQUIRE_EQ(errs.size(), 4u);
  CHECK_EQ(errs[0], caf::none);
  CHECK_EQ(errs[1], caf::none);
  CHECK_EQ(errs[2], caf::none);
  CHECK_EQ(errs[3], errc::would_deadlock);
  CHECK_NE(render(errs[3]).find("lazy_put"), std::string::npos);
  REQUIRE_EQ(seen.size(), 3u);
  for (int64_t k = 1; k <= 3; ++k)
    CHECK_EQ(seen[k - 1], std::vector<record>{versioned(k, 1)});
  REQUIRE_EQ(inst.flush(), caf::none);
  CHECK_EQ(lookup(inst, 4), std::vector<record>{versioned(4, 1)});
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("put_batch into a cache node stores every record, one request per "
          "partition, and a bad record stores none") {
  options opts;
  opts.partitions = 3;
  options popts;
  popts.buffers = 1;
  testing::loopback_pair net{opts, popts};
  auto& node = net.node;
  auto& producer = net.producer;
  std::vector<record> xs;
  for (int64_t k = 0; k < 300; ++k)
    xs.push_back(make_record(k));
  auto bad = xs;
  bad[123] = record::array({});
  auto err = producer.put_batch(bad);
  CHECK_EQ(err, errc::invalid_record);
  CHECK_NE(render(err).find("record 123 "), std::string::npos);
  CHECK_EQ(*node.size(), 0u);
  REQUIRE_EQ(producer.put_batch(xs), caf::none);
  CHECK_EQ(*node.size(), 300u);
  for (int64_t k = 0; k < 300; ++k) {
    auto got = producer.get(record::array({k}));
    REQUIRE(got);
    REQUIRE_EQ(*got, std::vector<record>{make_record(k)});
  }
  REQUIRE_EQ(producer.put(versioned(5, 7)), caf::none);
  CHECK_EQ(lookup(node, 5), std::vector<record>{versioned(5, 7)});
  net.stop();
}
