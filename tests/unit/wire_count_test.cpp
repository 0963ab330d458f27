// wire::count_msgpack_objects: the weight of a body before it is decoded.

#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "test_support.hpp"
#include "wire/msgpack_count.hpp"

namespace pseud::test {
namespace {

using wire::count_msgpack_objects;

std::size_t objects_decoded(const std::string& bytes) {
  const auto handle = msgpack::unpack(bytes.data(), bytes.size());
  std::size_t count = 0;
  std::function<void(const msgpack::object&)> walk = [&](const msgpack::object& value) {
    ++count;
    if (value.type == msgpack::type::ARRAY) {
      for (std::uint32_t i = 0; i < value.via.array.size; ++i) walk(value.via.array.ptr[i]);
    } else if (value.type == msgpack::type::MAP) {
      for (std::uint32_t i = 0; i < value.via.map.size; ++i) {
        walk(value.via.map.ptr[i].key);
        walk(value.via.map.ptr[i].val);
      }
    }
  };
  walk(handle.get());
  return count;
}

TEST(WireCount, ScalarsAreOneObject) {
  for (const char* hex : {"00", "7f", "e0", "c0", "c2", "c3", "cc01", "cd0102", "ce01020304", "cf0102030405060708",
                          "d0ff", "cb3ff0000000000000", "a3616263", "d903616263", "c40100", "d4010a", "c701010a"}) {
    EXPECT_EQ(count_msgpack_objects(hex_decode(hex)), 1u) << hex;
  }
}

TEST(WireCount, ContainersCountThemselvesAndTheirElements) {
  EXPECT_EQ(count_msgpack_objects(hex_decode("93a16101c0")), 4u);        // ["a", 1, nil]
  EXPECT_EQ(count_msgpack_objects(hex_decode("81a16192c3c2")), 5u);      // {"a": [true, false]}
  EXPECT_EQ(count_msgpack_objects(hex_decode("dc0002010281a16180")), 3u);  // array16 [1, 2], then trailing bytes
  EXPECT_EQ(count_msgpack_objects(hex_decode("90")), 1u);
  EXPECT_EQ(count_msgpack_objects(hex_decode("80")), 1u);
}

TEST(WireCount, AgreesWithTheDecoderOnAWorkBody) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(std::string("f"));
  packer.pack(std::vector<int>(1000, 7));
  packer.pack(std::map<std::string, std::vector<std::string>>{{"k", {"x", "y"}}});
  const std::string bytes(buffer.data(), buffer.size());
  EXPECT_EQ(count_msgpack_objects(bytes), objects_decoded(bytes));
}

TEST(WireCount, TruncatedOrLyingBodiesAreRefused) {
  EXPECT_EQ(count_msgpack_objects(""), std::nullopt);
  EXPECT_EQ(count_msgpack_objects(hex_decode("93a161")), std::nullopt);      // two elements missing
  EXPECT_EQ(count_msgpack_objects(hex_decode("ddffffffff")), std::nullopt);  // 4 billion elements in no bytes
  EXPECT_EQ(count_msgpack_objects(hex_decode("dbffffffff61")), std::nullopt);
  EXPECT_EQ(count_msgpack_objects(hex_decode("c1")), std::nullopt);
  EXPECT_EQ(count_msgpack_objects(hex_decode("cd01")), std::nullopt);
}

TEST(WireCount, AFourMebibyteArrayOfZerosIsFourMillionObjects) {
  const std::size_t items = 4 * 1024 * 1024;
  std::string body = hex_decode("dd00400000");
  body.append(items, '\0');
  EXPECT_EQ(count_msgpack_objects(body), items + 1);
}

}  // namespace
}  // namespace pseud::test
