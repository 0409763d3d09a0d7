#pragma once

/// LeakSanitizer and CAF 0.17.6's network layer: a build with LeakSanitizer
/// exempts the BASP broker of each actor system whose network layer the
/// library uses; other builds do nothing.
///
/// Why. CAF 0.17.6 can leave its BASP broker unreleased at shutdown (seen
/// in 1 of about 40 runs of a process whose cluster lost a node), held by a
/// reference LeakSanitizer does not see (most likely the multiplexer's list
/// of brokers to resume later: raw pointers, each holding a reference,
/// dropped without releasing them when it stops). Neither the broker nor
/// what it still points to is freed: its maps, the down messages in its
/// mailbox and, through them, CAF's spawn-server helpers and `ConfigServ`.
/// LeakSanitizer reports that graph, all as indirect leaks, and fails the
/// process. A suppression pattern cannot match it without also matching CAF
/// functions our own actors allocate through (actor initialization,
/// monitors, mailbox elements). Marking the one broker object with
/// `__lsan_ignore_object` makes exactly what it reaches count as
/// reachable; a leak of ours is still reported from its own allocation.

namespace caf {

class actor_system;

} // namespace caf

namespace supercache::detail {

/// Marks the BASP broker of `sys` as not leaked if this is a LeakSanitizer
/// build and `sys` has CAF's network layer; does nothing otherwise.
void exempt_basp_broker(caf::actor_system& sys);

} // namespace supercache::detail
