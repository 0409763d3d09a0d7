// The table's readers-writer lock: readers on their own stripes, writers
// exclusive against readers and other writers.

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "core/rw_lock.hpp"

using supercache::rw_lock;

TEST_CASE("an rw_lock writer waits for the reader inside and keeps a later "
          "reader out until it unlocks") {
  rw_lock lck;
  lck.lock_shared();
  std::atomic<bool> writer_in{false};
  std::atomic<bool> reader_in{false};
  std::atomic<bool> reader_seen_by_writer{false};
  std::thread writer{[&] {
    std::unique_lock<rw_lock> guard{lck};
    writer_in = true;
    // The later reader cannot be inside while this writer is.
    reader_seen_by_writer = reader_in.load();
  }};
  while (!lck.writer_inside())
    std::this_thread::yield();
  // The writer raised its flag: a reader from now on waits for it.
  std::thread reader{[&] {
    std::shared_lock<rw_lock> guard{lck};
    reader_in = true;
  }};
  CHECK_FALSE(writer_in.load()); // this thread still reads
  lck.unlock_shared();
  writer.join();
  reader.join();
  CHECK(writer_in.load());
  CHECK(reader_in.load());
  CHECK_FALSE(reader_seen_by_writer.load());
  CHECK_FALSE(lck.writer_inside());
}

TEST_CASE("readers of an rw_lock share it with each other") {
  rw_lock lck;
  std::shared_lock<rw_lock> first{lck};
  std::atomic<bool> second_in{false};
  std::thread other{[&] {
    std::shared_lock<rw_lock> second{lck};
    second_in = true;
  }};
  other.join(); // would never return if readers excluded each other
  CHECK(second_in.load());
}

TEST_CASE("concurrent readers and writers of an rw_lock never see a "
          "half-done write") {
  rw_lock lck;
  constexpr int rounds = 20000;
  // Writers keep a == b; a reader that saw them differ saw a torn write.
  long a = 0;
  long b = 0;
  std::atomic<long> torn{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w)
    threads.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::unique_lock<rw_lock> guard{lck};
        ++a;
        ++b;
      }
    });
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::shared_lock<rw_lock> guard{lck};
        if (a != b)
          ++torn;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK_EQ(torn.load(), 0);
  CHECK_EQ(a, 2 * rounds);
  CHECK_EQ(b, 2 * rounds);
}
