#!/usr/bin/env python3
"""Registrations that cannot work must fail to compile with a message that
says what to do. Usage: compile_errors.py -- COMPILER [FLAGS...]; the
compiler is run with -fsyntax-only on small programs. A control program
that must compile proves the command line itself works."""
import os
import subprocess
import sys
import tempfile

PRELUDE = "#include <pseud/pseud.hpp>\nstruct Calculator { int add(int a, int b) { return a + b; } };\n"

CASES = [
    ("control: a registration that works",
     "int main() { pseud::Registry r; Calculator c; r.register_rpc(\"add\", &Calculator::add, &c);"
     " r.register_rpc(\"sub\", [](int a, int b) { return a - b; }); }",
     None),
    ("a generic lambda",
     "int main() { pseud::Registry r; r.register_rpc(\"echo\", [](auto v) { return v; }); }",
     "give its parameters types"),
    ("a member function without its object",
     "int main() { pseud::Registry r; r.register_rpc(\"add\", &Calculator::add); }",
     "a member function needs its object"),
    ("a ReplyChannel handler that returns a value",
     "int main() { pseud::Registry r; r.register_rpc(\"x\", [](pseud::ReplyChannel) { return 1; }); }",
     "answers through it: return void"),
    ("control: a coroutine handler taking its parameters by value",
     "int main() { pseud::Registry r; r.register_rpc(\"c\", [](std::string s) -> pseud::Task<std::string> {"
     " co_return s; }); }",
     None),
    ("a coroutine handler taking a reference",
     "int main() { pseud::Registry r; r.register_rpc(\"c\", [](const std::string& s) -> pseud::Task<std::string> {"
     " co_return s; }); }",
     "takes its parameters by value"),
    ("a coroutine handler taking a string_view",
     "int main() { pseud::Registry r; r.register_rpc(\"c\", [](std::string_view s) -> pseud::Task<int> {"
     " co_return static_cast<int>(s.size()); }); }",
     "takes its parameters by value"),
    ("control: a typed command and its function",
     "struct Add { using result = int; int a = 0; int b = 0; PSEUD_COMMAND(\"calc.add\", a, b); };\n"
     "int main() { pseud::Registry r; r.register_command<Add>([](const Add& c) { return c.a + c.b; }); }",
     None),
    ("a command whose wire name has a space",
     "struct Add { int a = 0; PSEUD_COMMAND(\"calc add\", a); };\nint main() {}",
     "the wire name must be"),
    ("a command listing an expression as a field",
     "struct Add { int a = 0; int b = 0; PSEUD_COMMAND(\"calc.add\", a, this->b); };\n"
     "int main() { pseud::Registry r; r.register_command<Add>([](Add) {}); }",
     "fields are plain member names"),
    ("a OneOf of two commands with one wire name",
     "struct A { int a = 0; PSEUD_COMMAND(\"same\", a); };\nstruct B { int b = 0; PSEUD_COMMAND(\"same\", b); };\n"
     "int main() { pseud::OneOf<A, B> v; (void)v; }",
     "two alternatives have the same wire name"),
    ("a command function that takes another type",
     "struct Add { using result = int; int a = 0; PSEUD_COMMAND(\"calc.add\", a); };\n"
     "int main() { pseud::Registry r; r.register_command<Add>([](int a) { return a; }); }",
     "register_command<C>"),
]


def main():
    command = sys.argv[sys.argv.index("--") + 1:]
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for title, body, expected in CASES:
            source = os.path.join(scratch, "case.cpp")
            with open(source, "w") as out:
                out.write(PRELUDE + body + "\n")
            result = subprocess.run(command + ["-fsyntax-only", source], capture_output=True, text=True, timeout=300)
            errors = [line for line in result.stderr.splitlines() if "error" in line]
            if expected is None:
                ok = result.returncode == 0
                detail = result.stderr[-2000:]
            else:
                ok = result.returncode != 0 and len(errors) >= 1 and expected in errors[0]
                detail = "\n".join(errors[:3]) or result.stderr[-2000:]
            print(("ok   " if ok else "FAIL ") + title + ("" if ok else "\n" + detail))
            failures += 0 if ok else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
