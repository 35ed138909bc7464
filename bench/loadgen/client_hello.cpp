#include "client_hello.hpp"

#include <cstdint>
#include <initializer_list>
#include <random>

namespace loadgen {

namespace {

class Writer {
 public:
  void u8(unsigned v) { out_.push_back(static_cast<unsigned char>(v)); }
  void u16(unsigned v) {
    u8(v >> 8);
    u8(v);
  }
  void bytes(std::initializer_list<unsigned> list) {
    for (unsigned b : list)
      u8(b);
  }
  void text(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void random(std::size_t n, std::mt19937& rng) {
    for (std::size_t i = 0; i < n; ++i)
      u8(rng() & 0xff);
  }
  // Length prefix of `width` bytes, patched when the returned mark is closed.
  std::size_t open(int width) {
    const std::size_t at = out_.size();
    for (int i = 0; i < width; ++i)
      u8(0);
    return at;
  }
  void close(std::size_t at, int width) {
    std::size_t len = out_.size() - at - static_cast<std::size_t>(width);
    for (int i = width - 1; i >= 0; --i) {
      out_[at + static_cast<std::size_t>(i)] = static_cast<unsigned char>(len & 0xff);
      len >>= 8;
    }
  }
  std::vector<unsigned char> take() { return std::move(out_); }

 private:
  std::vector<unsigned char> out_;
};

}  // namespace

std::vector<unsigned char> build_client_hello(std::string_view sni) {
  std::mt19937 rng(0x5eed);
  Writer w;
  w.bytes({0x16, 0x03, 0x01});  // handshake record, legacy version
  const auto record = w.open(2);
  w.u8(0x01);  // client_hello
  const auto body = w.open(3);
  w.u16(0x0303);
  w.random(32, rng);
  w.u8(32);  // legacy session id
  w.random(32, rng);
  const auto suites = w.open(2);
  for (unsigned s : {0x1302u, 0x1303u, 0x1301u, 0xc02cu, 0xc030u, 0xcca9u, 0xcca8u, 0xc02bu,
                     0xc02fu, 0x009fu, 0x009eu, 0x00ffu})
    w.u16(s);
  w.close(suites, 2);
  w.bytes({0x01, 0x00});  // null compression only
  const auto exts = w.open(2);
  {
    w.u16(0x0000);  // server_name
    const auto ext = w.open(2);
    const auto list = w.open(2);
    w.u8(0);  // host_name
    const auto name = w.open(2);
    w.text(sni);
    w.close(name, 2);
    w.close(list, 2);
    w.close(ext, 2);
  }
  w.u16(0x000b);  // ec_point_formats
  w.bytes({0x00, 0x04, 0x03, 0x00, 0x01, 0x02});
  {
    w.u16(0x000a);  // supported_groups
    const auto ext = w.open(2);
    const auto list = w.open(2);
    for (unsigned g : {0x001du, 0x0017u, 0x001eu, 0x0019u, 0x0018u})
      w.u16(g);
    w.close(list, 2);
    w.close(ext, 2);
  }
  w.bytes({0x00, 0x23, 0x00, 0x00});  // session_ticket
  w.bytes({0x00, 0x16, 0x00, 0x00});  // encrypt_then_mac
  w.bytes({0x00, 0x17, 0x00, 0x00});  // extended_master_secret
  {
    w.u16(0x000d);  // signature_algorithms
    const auto ext = w.open(2);
    const auto list = w.open(2);
    for (unsigned a : {0x0403u, 0x0503u, 0x0603u, 0x0807u, 0x0808u, 0x0809u, 0x080au, 0x080bu,
                       0x0804u, 0x0805u, 0x0806u, 0x0401u, 0x0501u, 0x0601u})
      w.u16(a);
    w.close(list, 2);
    w.close(ext, 2);
  }
  w.bytes({0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03});  // supported_versions
  w.bytes({0x00, 0x2d, 0x00, 0x02, 0x01, 0x01});                    // psk_key_exchange_modes
  {
    w.u16(0x0033);  // key_share: one X25519 share
    const auto ext = w.open(2);
    const auto list = w.open(2);
    w.u16(0x001d);
    w.u16(32);
    w.random(32, rng);
    w.close(list, 2);
    w.close(ext, 2);
  }
  w.close(exts, 2);
  w.close(body, 3);
  w.close(record, 2);
  return w.take();
}

}  // namespace loadgen
