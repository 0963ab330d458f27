#pragma once
// The pseud v1 frames tests write by hand on raw sockets: the version frame
// and one byte per message type (protocol/README.md).

#include <string>

namespace pseud::test::frame_bytes {

inline const std::string V = "v1";
inline const std::string OK(1, '\x01');
inline const std::string HELLO(1, '\x02');
inline const std::string WORK(1, '\x03');
inline const std::string AUTHENTICATED(1, '\x04');
inline const std::string HEARTBEAT(1, '\x06');
inline const std::string ERROR_TYPE(1, '\x10');  // ERROR is a macro in some system headers
inline const std::string UNAUTHORIZED(1, '\x11');

}  // namespace pseud::test::frame_bytes
