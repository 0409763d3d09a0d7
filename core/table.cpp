#include "core/table.hpp"

#include <cstdio>
#include <exception>
#include <functional>
#include <mutex>

namespace supercache {

namespace {

constexpr size_t initial_capacity = 1024;

} // namespace

table::table(table_type type, record_layout layout)
  : type_(type), layout_(layout), slots_(initial_capacity) {
  bytes_ = slots_.size() * sizeof(slot);
}

void table::insert(record x) {
  insert(packed::pack(x, layout_).first);
}

void table::insert(packed x) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  insert_locked(std::move(x));
}

bool table::insert_direct(packed* xs, size_t n) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  if (closed_)
    return false;
  for (size_t i = 0; i < n; ++i)
    insert_locked(std::move(xs[i]));
  return true;
}

void table::close() {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  closed_ = true;
}

size_t table::insert(std::vector<entry>& xs) {
  size_t applied = 0;
  size_t failed = 0;
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    // Touch the home slot of the next records early: a large table misses
    // the cache on almost every insert, and the misses overlap this way.
    constexpr size_t ahead = 8;
    auto prefetch = [&](size_t i) {
      if (i < xs.size() && !xs[i].value.empty()) {
        auto h = key_hash(xs[i].value.key());
        __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
      }
    };
    for (size_t i = 0; i < ahead; ++i)
      prefetch(i);
    for (size_t i = 0; i < xs.size(); ++i) {
      prefetch(i + ahead);
      auto& x = xs[i];
      // A record its receiver could not decode (see `entry`) is refused:
      // its sender counts it as lost.
      if (x.barrier != 0 || x.value.empty())
        continue;
      if (x.erase) {
        erase_locked(x.value.key());
        ++applied;
        continue;
      }
      try {
        if (fault_)
          fault_(x.value);
        insert_locked(std::move(x.value));
        ++applied;
      } catch (const std::exception& ex) {
        if (failed_.load(std::memory_order_relaxed) + failed++ == 0)
          std::fprintf(stderr,
                       "supercache: a cache partition failed to store a "
                       "record (%s); further failures are only counted\n",
                       ex.what());
      }
    }
  }
  if (failed > 0)
    failed_.fetch_add(failed, std::memory_order_relaxed);
  // The records are visible now: time the sampled ones. A time that is not
  // in the past (a peer sends any value) is no sample.
  int64_t now = 0;
  for (auto& x : xs)
    if (x.enqueued_ns != 0) {
      if (now == 0)
        now = steady_ns();
      if (x.enqueued_ns > 0 && x.enqueued_ns <= now)
        latency_.record(now - x.enqueued_ns);
    }
  batches_.fetch_add(1, std::memory_order_relaxed);
  batched_records_.fetch_add(applied, std::memory_order_relaxed);
  return applied;
}

void table::update_bytes(int64_t delta) noexcept {
  bytes_.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed);
}

void table::insert_locked(packed&& x) {
  auto used = size_.load(std::memory_order_relaxed);
  if ((used + 1) * 4 > slots_.size() * 3)
    grow();
  auto key = x.key();
  auto h = key_hash(key);
  auto mask = slots_.size() - 1;
  for (auto i = h & mask;; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.value.empty()) {
      update_bytes(static_cast<int64_t>(x.block().size()));
      s.hash = h;
      s.value = std::move(x);
      size_.store(used + 1, std::memory_order_release);
      return;
    }
    if (s.hash != h || s.value.key() != key)
      continue;
    if (type_ == table_type::set) {
      update_bytes(static_cast<int64_t>(x.block().size())
                   - static_cast<int64_t>(s.value.block().size()));
      s.value = std::move(x); // the old block is freed with `x`
      return;
    }
    if (s.value == x)
      return; // a bag stores identical records once
  }
}

void table::grow() {
  std::vector<slot> old(slots_.size() * 2);
  old.swap(slots_);
  update_bytes(static_cast<int64_t>(old.size() * sizeof(slot)));
  auto mask = slots_.size() - 1;
  // Start behind an empty slot so each probe run is moved in probe order:
  // records of one key keep the order they were stored in.
  size_t start = 0;
  while (!old[start].value.empty())
    ++start;
  for (size_t n = 0; n < old.size(); ++n) {
    auto& s = old[(start + n) % old.size()];
    if (s.value.empty())
      continue;
    auto i = s.hash & mask;
    while (!slots_[i].value.empty())
      i = (i + 1) & mask;
    slots_[i] = std::move(s);
  }
}

size_t table::erase(std::string_view key) {
  std::unique_lock<std::shared_mutex> guard{mtx_};
  return erase_locked(key);
}

size_t table::erase_locked(std::string_view key) {
  auto h = key_hash(key);
  auto mask = slots_.size() - 1;
  size_t removed = 0;
  for (auto i = h & mask; !slots_[i].value.empty();) {
    auto& s = slots_[i];
    if (s.hash == h && s.value.key() == key) {
      // The next record of the run moves into slot i, if any: look again.
      update_bytes(-static_cast<int64_t>(s.value.block().size()));
      erase_at(i);
      ++removed;
      if (type_ == table_type::set)
        break;
    } else {
      i = (i + 1) & mask;
    }
  }
  if (removed > 0) {
    size_.store(size_.load(std::memory_order_relaxed) - removed,
                std::memory_order_release);
    erased_.fetch_add(removed, std::memory_order_relaxed);
  }
  return removed;
}

void table::erase_at(size_t i) noexcept {
  auto mask = slots_.size() - 1;
  slots_[i].value = packed{};
  // Backward shift: a record further in the run moves into the hole unless
  // its home slot lies cyclically in (hole, its slot]; then the hole moves
  // to its old slot. Records only move backwards and never past one with
  // the same home, so a key's records keep their order.
  for (auto j = (i + 1) & mask; !slots_[j].value.empty(); j = (j + 1) & mask) {
    auto home = slots_[j].hash & mask;
    auto stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    slots_[i] = std::move(slots_[j]); // leaves slot j empty (swap)
    slots_[j].value = packed{};
    i = j;
  }
}

size_t table::clear() {
  std::vector<slot> old(initial_capacity);
  size_t removed = 0;
  {
    std::unique_lock<std::shared_mutex> guard{mtx_};
    old.swap(slots_);
    removed = size_.load(std::memory_order_relaxed);
    size_.store(0, std::memory_order_release);
    bytes_.store(slots_.size() * sizeof(slot), std::memory_order_relaxed);
  }
  erased_.fetch_add(removed, std::memory_order_relaxed);
  return removed; // the old records are freed here, outside the lock
}

std::vector<record> table::get(std::string_view key) const {
  return get(key, key_hash(key));
}

std::vector<record> table::get(std::string_view key, uint64_t h) const {
  std::vector<record> result;
  std::shared_lock<std::shared_mutex> guard{mtx_};
  auto mask = slots_.size() - 1;
  for (auto i = h & mask;; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.value.empty())
      return result;
    if (s.hash == h && s.value.key() == key)
      result.emplace_back(s.value.unpack());
  }
}

nlohmann::json to_json(const table& x) {
  return {{"records", x.size()},
          {"bytes", x.bytes()},
          {"failed", x.failed()},
          {"batches", x.batches()},
          {"batched_records", x.batched_records()},
          {"erased", x.erased()}};
}

} // namespace supercache
