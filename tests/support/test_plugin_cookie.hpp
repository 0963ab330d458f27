#pragma once
// The cookie test_plugin expects and plugin_process_test launches it with.

#include <pseud/plugin_protocol.hpp>

namespace pseud::test {

inline const PluginCookie test_plugin_cookie{"PSEUD_TEST_PLUGIN_COOKIE", "started-by-plugin-process-test"};

}  // namespace pseud::test
