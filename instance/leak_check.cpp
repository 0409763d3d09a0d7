// See leak_check.hpp for why the BASP broker is exempt.

#include "instance/leak_check.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>

#if defined(__SANITIZE_ADDRESS__)
#  define SUPERCACHE_LEAK_CHECK 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#    define SUPERCACHE_LEAK_CHECK 1
#  endif
#endif

#ifdef SUPERCACHE_LEAK_CHECK
#  include <sanitizer/lsan_interface.h>
#endif

namespace supercache::detail {

void exempt_basp_broker(caf::actor_system& sys) {
#ifdef SUPERCACHE_LEAK_CHECK
  if (!sys.has_middleman())
    return;
  // Started with the middleman: this only looks it up.
  auto broker = sys.middleman().named_broker<caf::io::basp_broker>(
    caf::atom("BASP"));
  if (auto ptr = caf::actor_cast<caf::abstract_actor*>(broker))
    __lsan_ignore_object(ptr);
#else
  static_cast<void>(sys);
#endif
}

} // namespace supercache::detail
