// Node addresses that are host names (a Kubernetes pod's stable name): binding to what the
// name resolves to, datagrams sent to a name, and senders reported under their names.
#include "net/host_names.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>
#include <thread>

#include "net/udp_endpoint.hpp"

namespace isla::net {
namespace {

using namespace std::chrono_literals;

TEST(HostNames, BindsLiteralsAsTheyAreAndNamesToWhatTheyResolveTo) {
  EXPECT_EQ(bind_address("127.0.0.7"), asio::ip::make_address("127.0.0.7"));
  EXPECT_TRUE(bind_address("localhost").is_loopback());
  try {
    bind_address("no-such-node.invalid");
    ADD_FAILURE() << "a name that does not resolve was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("no-such-node.invalid"), std::string::npos);
  }
}

TEST(HostNames, ASenderIsReportedUnderTheNameItsAddressCameFrom) {
  NameCache names;
  names.remember("isla-gateway-1.isla-gateway.isla.svc.cluster.local",
                 asio::ip::make_address("10.244.1.7"));
  EXPECT_EQ(names.name_of({"10.244.1.7", 5235}),
            (core::Endpoint{"isla-gateway-1.isla-gateway.isla.svc.cluster.local", 5235}));
  EXPECT_EQ(names.name_of({"10.244.1.8", 5235}), (core::Endpoint{"10.244.1.8", 5235}));
  EXPECT_EQ(names.address_of("isla-gateway-1.isla-gateway.isla.svc.cluster.local"),
            asio::ip::make_address("10.244.1.7"));
  NameCache stale(std::chrono::seconds(-1));
  stale.remember("gone", asio::ip::make_address("10.244.1.9"));
  EXPECT_FALSE(stale.address_of("gone"));
  EXPECT_EQ(stale.name_of({"10.244.1.9", 1}), (core::Endpoint{"10.244.1.9", 1}));
}

TEST(HostNames, ADatagramSentToANameArrives) {
  asio::io_context context;
  asio::ip::udp::socket receiver(context, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = receiver.local_endpoint().port();
  UdpEndpoint sender(context, {"localhost", 0});
  sender.send({"localhost", port}, "hello by name");
  std::array<char, 64> buffer{};
  asio::ip::udp::endpoint from;
  std::size_t received = 0;
  receiver.async_receive_from(asio::buffer(buffer), from,
                              [&](boost::system::error_code error, std::size_t size) {
                                if (!error) received = size;
                              });
  context.run_for(10s);  // returns as soon as the datagram is in: nothing else is pending
  ASSERT_EQ(received, 13u);
  EXPECT_EQ(std::string(buffer.data(), received), "hello by name");
}

}  // namespace
}  // namespace isla::net
