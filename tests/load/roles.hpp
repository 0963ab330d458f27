#pragma once
// The three roles of pseud-load, one per process kind: the orchestrator
// (run), the server under test (server) and a client process (clients).
// Each takes argv after the role word and returns the exit status.

namespace pseud::load {

int run_role(int argc, char** argv);
int server_role(int argc, char** argv);
int clients_role(int argc, char** argv);

}  // namespace pseud::load
