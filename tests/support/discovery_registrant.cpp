// A process that registers one instance in etcd and keeps it registered
// until its stdin closes (tests/integration/discovery_etcd_test.cpp kills
// it with SIGKILL to show the record leaves with its lease).
//
//   discovery_registrant ADDRESS SERVICE INSTANCE TTL_SECONDS
//
// Prints "registered" once the record is published.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "process_options.hpp"
#include "pseud/discovery.hpp"
#include "pseud/errors.hpp"

int main(int argc, char** argv) {
  const pseud::test::ProgramInfo program{"discovery_registrant",
                                         "usage: discovery_registrant ADDRESS SERVICE INSTANCE TTL_SECONDS\n"};
  if (!pseud::test::guard_process()) return 3;
  if (argc != 5) pseud::test::usage(program, "wrong number of arguments");
  const long ttl = pseud::test::whole_number(program, argv[4], "TTL_SECONDS");
  try {
    auto discovery = pseud::make_discovery(argv[1]);
    pseud::InstanceRecord record;
    record.service = argv[2];
    record.instance = argv[3];
    record.endpoints = {"tcp://127.0.0.1:1"};
    record.pid = ::getpid();
    auto registration = discovery->register_instance(record, {std::chrono::seconds(ttl)});
    pseud::test::write_line("registered");
    char byte;
    while (::read(STDIN_FILENO, &byte, 1) > 0) {
    }
    registration->withdraw();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "discovery_registrant: %s\n", e.what());
    return 1;
  }
  return 0;
}
