#include "replication/handler_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

namespace tandem::replication {

namespace asio = boost::asio;

void HandlerRunner::Run(const std::string& command, const std::map<std::string, std::string>& env,
                        std::chrono::seconds timeout, Done done) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string cmd = command;
  pid_t pid = fork();
  if (pid < 0) {
    asio::post(loop_, [done] { done(-1); });
    return;
  }
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), cmd.data(), nullptr};
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto timer = std::make_shared<asio::steady_timer>(loop_, timeout);
  if (pidfd < 0) {
    // No pidfd: poll with the timer instead (kernels before 5.3).
    auto poll = std::make_shared<std::function<void()>>();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    *poll = [pid, done, timer, poll, deadline]() {
      int status = 0;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        *poll = nullptr;
        return done(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        *poll = nullptr;
        return done(-1);
      }
      timer->expires_after(std::chrono::milliseconds(20));
      timer->async_wait([poll](const boost::system::error_code&) {
        if (*poll) (*poll)();
      });
    };
    (*poll)();
    return;
  }
  auto fd = std::make_shared<asio::posix::stream_descriptor>(loop_, pidfd);
  auto finished = std::make_shared<bool>(false);
  timer->async_wait([pid, finished, fd](const boost::system::error_code& ec) {
    if (ec || *finished) return;
    kill(pid, SIGKILL);  // the wait below reaps it
  });
  fd->async_wait(asio::posix::stream_descriptor::wait_read,
                 [pid, done, fd, timer, finished](const boost::system::error_code&) {
                   *finished = true;
                   timer->cancel();
                   int status = 0;
                   waitpid(pid, &status, 0);
                   boost::system::error_code ignored;
                   fd->close(ignored);
                   done(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                 });
}

}  // namespace tandem::replication
