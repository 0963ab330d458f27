// Coroutine handlers: the "relay" server answers relay_add and sum_of by
// calling the "adder" server, and waits for its replies without holding a
// thread. main() runs a task of its own with pseud::sync_wait.

#include <iostream>
#include <vector>

#include <pseud/pseud.hpp>

int main() {
  pseud::Server adder("adder");
  adder.register_rpc("add", [](int a, int b) { return a + b; });
  pseud::Client to_adder("adder");
  to_adder.connect(adder.bind("tcp://127.0.0.1:*"));

  pseud::Server relay("relay");
  // A coroutine handler: after each co_await it goes on on to_adder's engine thread.
  relay.register_rpc("relay_add", [&to_adder](int a, int b) -> pseud::Task<int> {
    co_return co_await to_adder.co_call<int>("add", a, b);
  }, {.params = {"a", "b"}, .doc = "a + b, computed by the adder"});
  relay.register_rpc("sum_of", [&to_adder](std::vector<int> values) -> pseud::Task<int> {
    int sum = 0;
    for (int value : values) sum = co_await to_adder.co_call<int>("add", sum, value);
    co_return sum;
  }, {.params = {"values"}, .doc = "the sum of a list, one call to the adder per item"});

  pseud::Client client("relay");
  client.connect(relay.bind("tcp://127.0.0.1:*"));
  std::cout << "relay_add(2, 3) = " << client.call<int>("relay_add", 2, 3) << "\n";
  std::cout << "sum_of([1..10]) = " << client.call<int>("sum_of", std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
            << "\n";

  // A task outside any handler, run to its end from main().
  auto twice = [&client](int a, int b) -> pseud::Task<int> {
    const int once = co_await client.co_call<int>("relay_add", a, b);
    co_return co_await client.co_call<int>("relay_add", once, once);
  };
  const int result = pseud::sync_wait(twice(4, 5));
  std::cout << "relay_add(relay_add(4, 5) x 2) = " << result << "\n";
  return result == 18 ? 0 : 1;
}
