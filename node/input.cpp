#include "node/input.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace supercache::node {

fd_input::fd_input(const std::string& path) : path_(path) {
  if (pipe2(wake_, O_CLOEXEC) != 0) {
    fail("cannot create a pipe");
    return;
  }
  if (path == "-") {
    fd_ = STDIN_FILENO;
    return;
  }
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0)
    fail("cannot open");
  else
    owns_fd_ = true;
}

fd_input::~fd_input() {
  if (owns_fd_)
    close(fd_);
  for (int fd : wake_)
    if (fd >= 0)
      close(fd);
}

void fd_input::interrupt() noexcept {
  interrupted_ = true;
  if (wake_[1] >= 0) {
    char x = 1;
    [[maybe_unused]] auto n = write(wake_[1], &x, 1);
  }
}

void fd_input::fail(const char* what) {
  error_ = std::string{what} + " input '" + path_
           + "': " + std::strerror(errno);
}

fd_input::int_type fd_input::underflow() {
  if (gptr() < egptr())
    return traits_type::to_int_type(*gptr());
  if (!error_.empty() || fd_ < 0)
    return traits_type::eof();
  for (;;) {
    if (interrupted_)
      return traits_type::eof();
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    auto ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot read");
      return traits_type::eof();
    }
    if (interrupted_ || (fds[1].revents & POLLIN) != 0)
      return traits_type::eof();
    auto n = read(fd_, buf_, sizeof(buf_));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      fail("cannot read");
      return traits_type::eof();
    }
    if (n == 0)
      return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(*gptr());
  }
}

} // namespace supercache::node
