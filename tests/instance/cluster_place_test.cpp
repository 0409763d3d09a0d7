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
