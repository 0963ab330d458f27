// pseud-load: the many-peers load program (issue 5). One binary, three roles:
//   pseud-load run ...      the orchestrator (see run_role.cpp); what people run
//   pseud-load server ...   the server under test, spawned by run
//   pseud-load clients ...  a client process holding a share of the peers, spawned by run
// The report is JSON lines on stdout; progress goes to stderr.

#include <cstdio>
#include <cstring>
#include <exception>

#include "roles.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: pseud-load run [options]   (see tests/load/run_role.cpp)\n");
    return 2;
  }
  try {
    if (std::strcmp(argv[1], "run") == 0) return pseud::load::run_role(argc - 2, argv + 2);
    if (std::strcmp(argv[1], "server") == 0) return pseud::load::server_role(argc - 2, argv + 2);
    if (std::strcmp(argv[1], "clients") == 0) return pseud::load::clients_role(argc - 2, argv + 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pseud-load: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "pseud-load: unknown role '%s' (run, server or clients)\n", argv[1]);
  return 2;
}
