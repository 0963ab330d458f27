// Typed commands: a struct declared once with its wire name and fields
// travels as a dict of those fields (a Python pseud peer sees a dict). The
// server registers a function per command; the client executes commands and
// gets typed results back. A pseud::OneOf decodes the tagged form
// {"__type__": name, ...fields}; a field that is missing or of the wrong
// type is a TypeError naming it.

#include <iostream>
#include <map>
#include <string>
#include <variant>

#include <pseud/pseud.hpp>

struct Deposit {
  using result = long long;  // the new balance
  std::string account;
  long long cents = 0;
  PSEUD_COMMAND("bank.deposit", account, cents);
};

struct Balance {
  long long cents = 0;
  std::string currency;
  PSEUD_COMMAND("bank.balance", cents, currency);
};

struct GetBalance {
  using result = Balance;  // a command can be a result too
  std::string account;
  PSEUD_COMMAND("bank.get_balance", account);
};

struct Freeze {  // no `result`: executing it returns void
  std::string account;
  PSEUD_COMMAND("bank.freeze", account);
};

using Operation = pseud::OneOf<Deposit, Freeze>;  // the tagged form

int main() {
  std::map<std::string, long long> accounts{{"alice", 1000}};
  pseud::Server server("bank");
  server.register_command<Deposit>([&](const Deposit& d) { return accounts[d.account] += d.cents; });
  server.register_command<GetBalance>([&](const GetBalance& g) { return Balance{accounts[g.account], "EUR"}; });
  server.register_command<Freeze>([](const Freeze& f) { std::cout << "  server: " << f.account << " frozen\n"; });
  server.register_rpc("bank.apply", [&](const Operation& op) {
    std::cout << "  server: apply received a " << op.wire_name() << "\n";
    if (const auto* deposit = std::get_if<Deposit>(&op)) accounts[deposit->account] += deposit->cents;
    return accounts.size();
  });

  pseud::Client client("bank");
  client.connect(server.bind("tcp://127.0.0.1:*"));

  std::cout << "deposit 250 -> balance " << client.execute(Deposit{"alice", 250}) << "\n";
  const Balance balance = client.execute(GetBalance{"alice"}, {.timeout = std::chrono::seconds(2)});
  std::cout << "get_balance -> " << balance.cents << " " << balance.currency << "\n";
  client.execute(Freeze{"mallory"});

  client.call<void>("bank.apply", Operation(Deposit{"bob", 5}));  // {"__type__": "bank.deposit", ...}

  // What a Python peer would send with a typo: {"account": "alice", "cent": 5}.
  try {
    client.call<long long>("bank.deposit", std::map<std::string, std::string>{{"account", "alice"}, {"cent", "5"}});
  } catch (const pseud::RemoteError& e) {
    std::cout << e.name() << ": " << e.message() << "\n";
  }
  return accounts.at("alice") == 1250 && accounts.at("bob") == 5 ? 0 : 1;
}
