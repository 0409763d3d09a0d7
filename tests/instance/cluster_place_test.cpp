// A cache node configured with its cluster (`options::remote` on the
// instance that publishes, core/cluster_place.hpp): it knows its place
// before any producer connects. Threaded actor systems in this process on
// loopback; the second node of each list is a port nobody listens on.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/packed.hpp"
#include "tests/fixture.hpp"
#include "tests/loopback.hpp"

using namespace supercache;

namespace {

/// Returns a port of 127.0.0.1 the OS just handed out, closed again.
uint16_t unused_port() {
  auto fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  REQUIRE_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string at(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

/// A cache node of a configured two-node cluster (partitions 2, replicas 2)
/// whose second node is a port nobody listens on; started by the test.
struct cluster_node {
  /// This node's port, the other's, and the list of both.
  struct ports {
    uint16_t port = unused_port();
    uint16_t silent = unused_port();
    std::string list = at(port) + "," + at(silent);
  } where;
  testing::net_config cfg;
  caf::actor_system sys{cfg};
  instance node{sys};
  options opts = make_opts();

  options make_opts() const {
    options x;
    x.partitions = 2;
    x.remote = where.list;
    x.replicas = 2;
    return x;
  }
};

/// Sends `dst` a request of `xs...` from `self` and returns the error it
/// answers, or none if it answers a `Reply`.
template <class Reply, class... Ts>
caf::error ask(caf::scoped_actor& self, const caf::actor& dst, Ts&&... xs) {
  caf::error result;
  self->request(dst, std::chrono::seconds(30), std::forward<Ts>(xs)...)
    .receive([](Reply) {}, [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// The records `[i, "v"]` from `i = first` on that partition 1 of 2 owns,
/// `n` of them, as a buffer streams them.
std::vector<entry> first_partition_records(int first, size_t n) {
  std::vector<entry> result;
  for (int i = first; result.size() < n; ++i) {
    auto x = record::array({i, "v"});
    auto [value, hash] = packed::pack(x, record_layout{});
    if (partition_index(hash, 2) == 0)
      result.push_back(entry{0, 0, std::move(value), 0, false});
  }
  return result;
}

} // namespace

TEST_CASE("publish refuses a cache node of a configured cluster on a port "
          "the OS picks, or on an address its list does not name") {
  testing::net_config cfg;
  caf::actor_system sys{cfg};
  instance node{sys};
  options opts;
  opts.partitions = 2;
  opts.remote = "127.0.0.1:4001,127.0.0.1:4002";
  opts.replicas = 2;
  REQUIRE_EQ(node.start(opts), caf::none);
  auto any = node.publish(0, "127.0.0.1");
  REQUIRE_FALSE(any);
  CHECK_EQ(any.error().code(), static_cast<uint8_t>(errc::invalid_option));
  CHECK_NE(render(any.error()).find("not on one the OS picks (port 0)"),
           std::string::npos);
  auto other = node.publish(4003, "127.0.0.1");
  REQUIRE_FALSE(other);
  CHECK_NE(render(other.error())
             .find("no entry of remote = \"127.0.0.1:4001,127.0.0.1:4002\" "
                   "is this cache node (127.0.0.1:4003)"),
           std::string::npos);
  CHECK_EQ(node.stop(), caf::none);
}

TEST_CASE("a cache node configured with its cluster refuses the first "
          "producer that places it elsewhere, naming both places, and takes "
          "a producer given the same list") {
  cluster_node fix;
  auto& [port, silent, list] = fix.where;
  auto& node = fix.node;
  REQUIRE_EQ(node.start(fix.opts), caf::none);
  auto published = node.publish(port, "127.0.0.1");
  REQUIRE(published);
  CHECK_EQ(*published, port);
  options producer_opts;
  producer_opts.replicas = 2;
  {
    // The same nodes in another order: this node would be node 2.
    testing::net_config cfg;
    caf::actor_system sys{cfg};
    instance producer{sys};
    producer_opts.remote = at(silent) + "," + at(port);
    auto err = producer.connect(producer_opts);
    REQUIRE(err);
    CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
    auto text = render(err);
    CHECK_NE(text.find("the cache node at " + at(port)
                       + " refused its place: this cache node is configured "
                         "as node 1 of "
                       + list + " partitions=2 replicas=2"),
             std::string::npos);
    CHECK_NE(text.find("the producer places it as node 2 of "
                       + producer_opts.remote),
             std::string::npos);
  }
  testing::net_config cfg;
  caf::actor_system sys{cfg};
  instance producer{sys};
  producer_opts.remote = list;
  REQUIRE_EQ(producer.connect(producer_opts), caf::none);
  for (int i = 0; i < 10; ++i)
    REQUIRE_EQ(producer.lazy_put(record::array({i, "v"})), caf::none);
  REQUIRE_EQ(producer.flush(), caf::none);
  auto n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 10u);
  CHECK_EQ(producer.stop(), caf::none);
  CHECK_EQ(node.stop(), caf::none);
}

TEST_CASE("an instance that lists one node of a configured cluster reads "
          "from it and refuses every write naming the node's place; a node "
          "configured alone takes a producer that lists it the same way") {
  cluster_node fix;
  auto& [port, silent, list] = fix.where;
  auto& node = fix.node;
  REQUIRE_EQ(node.start(fix.opts), caf::none);
  REQUIRE(node.publish(port, "127.0.0.1"));
  for (int i = 0; i < 10; ++i)
    REQUIRE_EQ(node.put(record::array({i, "v"})), caf::none);
  testing::net_config cfg;
  caf::actor_system sys{cfg};
  instance reader{sys};
  options opts;
  opts.remote = at(port);
  REQUIRE_EQ(reader.connect(opts), caf::none);
  auto n = reader.size();
  REQUIRE(n);
  CHECK_EQ(*n, 10u);
  auto found = reader.get(record::array({3}));
  REQUIRE(found);
  CHECK_EQ(*found, std::vector<record>{record::array({3, "v"})});
  auto refused = [&](caf::error err) {
    REQUIRE(err);
    CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
    auto text = render(err);
    CHECK_NE(text.find("the cache node at " + at(port)
                       + " is configured as node 1 of " + list
                       + " partitions=2 replicas=2"),
             std::string::npos);
    CHECK_NE(text.find("does not write to it"), std::string::npos);
  };
  refused(reader.lazy_put(record::array({20, "w"})));
  refused(reader.lazy_erase(record::array({3})));
  refused(reader.put(record::array({21, "w"})));
  refused(reader.put_batch({record::array({22, "w"})}));
  refused(reader.erase(record::array({3})).error());
  refused(reader.clear().error());
  CHECK_EQ(reader.flush(), caf::none);
  n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 10u); // nothing written, nothing erased
  CHECK_EQ(reader.stop(), caf::none);
  CHECK_EQ(node.stop(), caf::none);
  // A node started as a cluster of one takes a producer that lists it so.
  auto alone = unused_port();
  fix.opts.remote = at(alone);
  fix.opts.replicas = 1;
  REQUIRE_EQ(node.start(fix.opts), caf::none);
  REQUIRE(node.publish(alone, "127.0.0.1"));
  instance producer{sys};
  opts.remote = at(alone);
  REQUIRE_EQ(producer.connect(opts), caf::none);
  for (int i = 0; i < 10; ++i)
    REQUIRE_EQ(producer.lazy_put(record::array({i, "v"})), caf::none);
  REQUIRE_EQ(producer.flush(), caf::none);
  n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 10u);
  CHECK_EQ(producer.stop(), caf::none);
  CHECK_EQ(node.stop(), caf::none);
}

TEST_CASE("a cache node configured with its cluster refuses, and counts, "
          "every write and streamed record from a peer that never stated its "
          "place, and a vouch that is not its leader's; once the peer "
          "stated the place its writes are stored") {
  cluster_node fix;
  auto& [port, silent, list] = fix.where;
  auto& node = fix.node;
  REQUIRE_EQ(node.start(fix.opts), caf::none);
  REQUIRE(node.publish(port, "127.0.0.1"));
  // A peer of our own making: CAF's network layer, no `connect`.
  testing::net_config cfg;
  caf::actor_system sys{cfg};
  auto parts = testing::partitions_at(sys, port);
  REQUIRE_EQ(parts.size(), 2u);
  caf::scoped_actor self{sys};
  auto& first = parts[0];
  auto owned = first_partition_records(0, 101);
  auto x = owned.front().value.unpack();
  auto refused = [&](caf::error err, const std::string& what) {
    REQUIRE(err);
    CHECK_EQ(err.code(), static_cast<uint8_t>(errc::invalid_option));
    auto text = render(err);
    CHECK_NE(text.find(what + " to cache partition 1 was refused: "
                       "this cache node is configured with its place in a "
                       "cluster"),
             std::string::npos);
    CHECK_NE(text.find("which the sender's node did not"), std::string::npos);
  };
  refused(ask<caf::ok_atom>(self, first, caf::put_atom::value, x), "a put");
  refused(ask<caf::ok_atom>(self, first, caf::put_atom::value,
                            std::vector<record>{x}),
          "a put_batch");
  refused(ask<uint64_t>(self, first, erase_atom::value, x), "an erase");
  refused(ask<uint64_t>(self, first, clear_atom::value), "a clear");
  // Only the partition's leader vouches for a producer.
  self->send(first, vouch_atom::value, sys.node());
  refused(ask<caf::ok_atom>(self, first, caf::put_atom::value, x), "a put");
  testing::stream_all(sys, first, {owned.begin() + 1, owned.end()});
  auto stats = node.stats();
  REQUIRE(stats);
  CHECK_EQ((*stats)["refused"], 6);
  CHECK_EQ((*stats)["refused_records"], 100);
  auto n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 0u);
  // The peer states the place a producer given the list states.
  auto front = sys.middleman().remote_actor("127.0.0.1", port);
  REQUIRE(front);
  CHECK_EQ(ask<caf::ok_atom>(self, *front, cluster_atom::value,
                             "node 1 of " + list + " partitions=2 replicas=2"),
           caf::none);
  CHECK_EQ(ask<caf::ok_atom>(self, first, caf::put_atom::value, x), caf::none);
  testing::stream_all(sys, first, {owned.begin() + 1, owned.end()});
  n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 101u);
  stats = node.stats();
  REQUIRE(stats);
  CHECK_EQ((*stats)["refused"], 6);
  CHECK_EQ((*stats)["refused_records"], 100);
  CHECK_EQ(ask<uint64_t>(self, first, erase_atom::value, x), caf::none);
  n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 100u);
  CHECK_EQ(node.stop(), caf::none);
  // Started without the list, a node takes writes from any peer.
  fix.opts.remote.clear();
  REQUIRE_EQ(node.start(fix.opts), caf::none);
  auto open_port = node.publish(0, "127.0.0.1");
  REQUIRE(open_port);
  testing::net_config cfg2;
  caf::actor_system sys2{cfg2};
  parts = testing::partitions_at(sys2, *open_port);
  REQUIRE_EQ(parts.size(), 2u);
  caf::scoped_actor other{sys2};
  CHECK_EQ(ask<caf::ok_atom>(other, parts[0], caf::put_atom::value, x),
           caf::none);
  testing::stream_all(sys2, parts[0], {owned.begin() + 1, owned.end()});
  n = node.size();
  REQUIRE(n);
  CHECK_EQ(*n, 101u);
  CHECK_EQ(node.stop(), caf::none);
}
