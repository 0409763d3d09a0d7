// Tests of `get(pattern, out)`: exactly the records `get(pattern)` returns,
// whatever `out` held before, on set and bag tables with key-pos and
// partition-pos other than 0, locally and against a cache node; `out` left
// empty on an error; the storage of a same-shaped result reused.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/loopback.hpp"

using namespace supercache;
using testing::layout_options;

namespace {

/// `[tag, part, key, value]`: key-pos 2, partition-pos 1; `value` is long
/// enough to live on the heap (no small-string buffer).
record row(const std::string& tag, int64_t part, int64_t key) {
  return record::array({tag, part, key, "value-" + std::to_string(key)
                                          + std::string(32, '.')});
}

/// What a reused result may hold before a lookup: records of other shapes.
std::vector<std::vector<record>> leftovers() {
  return {
    {},
    {record(5)},
    {record::object({{"a", 1}}), record("x"), record::array({1, 2, 3})},
    {row("z", 0, 99), row("z", 0, 98), row("z", 0, 97), row("z", 0, 96)},
  };
}

/// Fills `inst` (started with `layout_options(type)`) and checks that
/// `get(pattern, out)` gives exactly `get(pattern)` for every key, every
/// leftover and a missing key, and an empty `out` with the error of a bad
/// pattern.
void check_get_into(instance& inst, table_type type) {
  auto bag = type == table_type::bag;
  for (int64_t k = 0; k < 20; ++k) {
    REQUIRE_EQ(inst.put(row("a", k % 4, k)), caf::none);
    REQUIRE_EQ(inst.put(row("b", k % 4, k)), caf::none);
  }
  for (int64_t k = 0; k < 21; ++k) {
    auto pattern = row("", k % 4, k);
    auto want = inst.get(pattern);
    REQUIRE(want);
    CHECK_EQ(want->size(), k == 20 ? 0u : (bag ? 2u : 1u));
    for (auto out : leftovers()) {
      REQUIRE_EQ(inst.get(pattern, out), caf::none);
      CHECK_EQ(out, *want);
    }
  }
  for (auto out : leftovers()) {
    CHECK_EQ(inst.get(record::array({1, 2}), out),
             make_error(errc::invalid_record));
    CHECK(out.empty());
  }
}

} // namespace

TEST_CASE("get into a vector gives exactly get's records whatever the vector "
          "held, on a set and a bag with key-pos 2 and partition-pos 1") {
  for (auto type : {table_type::set, table_type::bag}) {
    testing::threaded_config cfg;
    caf::actor_system sys{cfg};
    testing::facade_stopper stopper;
    instance inst{sys};
    REQUIRE_EQ(inst.start(layout_options(type)), caf::none);
    check_get_into(inst, type);
    REQUIRE_EQ(inst.stop(), caf::none);
    std::vector<record> out{row("z", 0, 1)};
    CHECK_EQ(inst.get(row("", 1, 1), out), make_error(errc::not_started));
    CHECK(out.empty());
  }
}

TEST_CASE("get into a vector of the same shape reuses the vector, the "
          "record's elements and its strings") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  instance inst{sys};
  REQUIRE_EQ(inst.start(layout_options(table_type::set)), caf::none);
  for (int64_t k = 0; k < 100; ++k)
    REQUIRE_EQ(inst.put(row("a", k % 4, k)), caf::none);
  std::vector<record> out;
  REQUIRE_EQ(inst.get(row("", 0, 40), out), caf::none);
  REQUIRE_EQ(out.size(), 1u);
  auto* records = out.data();
  auto* elements = out[0].get_ref<record::array_t&>().data();
  auto* chars = out[0][3].get_ref<std::string&>().data();
  for (int64_t k = 41; k < 100; ++k) {
    auto pattern = row("", k % 4, k);
    REQUIRE_EQ(inst.get(pattern, out), caf::none);
    REQUIRE_EQ(out, *inst.get(pattern));
    CHECK_EQ(out.data(), records);
    CHECK_EQ(out[0].get_ref<record::array_t&>().data(), elements);
    CHECK_EQ(out[0][3].get_ref<std::string&>().data(), chars);
  }
  REQUIRE_EQ(inst.stop(), caf::none);
}

TEST_CASE("get into a vector works against a connected cache node, set and "
          "bag") {
  for (auto type : {table_type::set, table_type::bag}) {
    testing::loopback_pair net{layout_options(type), layout_options(type)};
    check_get_into(net.producer, type);
    net.stop();
  }
}

TEST_CASE("the facade's get into a vector reaches the default instance") {
  testing::threaded_config cfg;
  caf::actor_system sys{cfg};
  testing::facade_stopper stopper;
  std::vector<record> out{record(1)};
  CHECK_EQ(get(testing::make_record(1), out), make_error(errc::not_started));
  CHECK(out.empty());
  REQUIRE_EQ(start(sys, options{}), caf::none);
  REQUIRE_EQ(put(testing::make_record(1)), caf::none);
  out = {record("junk"), record(2)};
  REQUIRE_EQ(get(testing::make_record(1), out), caf::none);
  CHECK_EQ(out, std::vector<record>{testing::make_record(1)});
  REQUIRE_EQ(get(testing::make_record(2), out), caf::none);
  CHECK(out.empty());
  REQUIRE_EQ(stop(), caf::none);
}
