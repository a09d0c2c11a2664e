// The HTTP server and client over TLS, with certificates from `isla certs init`'s code.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/http_stream.hpp"
#include "net/tls_certificates.hpp"
#include "net/tls_context.hpp"
#include "support/island.hpp"
#include "support/loopback_server.hpp"
#include "support/raw_http.hpp"

namespace isla::net {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class TlsFixture : public ::testing::Test {
 protected:
  TlsFixture()
      : dir_(fs::temp_directory_path() /
             ("isla-tls-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(dir_);
  }
  ~TlsFixture() override { fs::remove_all(dir_); }

  // An island CA in `name` with a certificate for each of `hosts`.
  fs::path island(const std::string& name, const std::vector<std::string>& hosts) {
    init_certificates(dir_ / name, hosts);
    return dir_ / name;
  }

  // Serves HTTPS on 127.0.0.1 with the certificate of `host` from `certs`.
  void start(const fs::path& certs, const std::string& host = "127.0.0.1") {
    const auto files = node_tls_files(certs, host);
    HttpServerOptions options;
    options.tls = make_server_tls(files.certificate, files.key);
    server_tls_ = options.tls;
    loopback_ = std::make_unique<testing::LoopbackServer>(
        2,
        [](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          co_return json_response(200, "{\"path\":\"" + std::string(request.path()) + "\"}");
        },
        options);
  }
  core::Endpoint endpoint() const { return loopback_->endpoint(); }
  HttpServer& server() { return loopback_->server(); }

  // `count` GETs in turn from one client on a private context (one connection pool).
  std::vector<ClientResult> get(const HttpClientOptions& options, int count = 1) {
    std::vector<ClientResult> results;
    const HttpClient http(options);
    asio::io_context context;
    asio::co_spawn(
        context,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < count; ++i) {
            HttpRequest request;
            request.target = "/x" + std::to_string(i);
            results.push_back(
                co_await http.request(endpoint(), request, std::chrono::steady_clock::now() + 3s));
          }
        },
        asio::detached);
    context.run();
    return results;
  }

  HttpClientOptions trusting(const fs::path& certs) {
    HttpClientOptions options;
    options.tls = make_client_tls(certs / "ca.pem");
    return options;
  }

  fs::path dir_;
  std::shared_ptr<TlsContext> server_tls_;
  std::unique_ptr<testing::LoopbackServer> loopback_;
};

TEST_F(TlsFixture, CertificatesAreEcdsaP256AndTheKeysPrivate) {
  const auto certs = island("a", {"127.0.0.1", "node.example"});
  for (const auto* key : {"ca.key", "127.0.0.1.key", "node.example.key"}) {
    EXPECT_EQ(fs::status(certs / key).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << key;
  }
  // A second run keeps what exists and adds only what is missing.
  const auto before = testing::read_file(certs / "ca.pem");
  const auto written = init_certificates(certs, {"127.0.0.1", "127.0.0.9"});
  EXPECT_EQ(written, (std::vector<fs::path>{certs / "127.0.0.9.pem", certs / "127.0.0.9.key"}));
  EXPECT_EQ(testing::read_file(certs / "ca.pem"), before);
  EXPECT_THROW(node_tls_files(certs, "127.0.0.77"), std::runtime_error);
}

TEST_F(TlsFixture, ServerAndClientTalkOverTlsOnOneKeptAliveConnection) {
  const auto certs = island("a", {"127.0.0.1"});
  start(certs);
  const auto results = get(trusting(certs), 3);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.response->status, 200);
  }
  EXPECT_EQ(results[2].response->body, "{\"path\":\"/x2\"}");
  EXPECT_EQ(SSL_CTX_sess_accept_good(server_tls_->ssl.native_handle()), 1);  // one handshake
}

TEST_F(TlsFixture, ANewConnectionToAKnownPeerResumesItsSession) {
  const auto certs = island("a", {"127.0.0.1"});
  start(certs);
  const auto client = trusting(certs);
  // Two contexts: two connection pools, so the second request needs a connection of its own.
  ASSERT_TRUE(get(client)[0].ok());
  ASSERT_TRUE(get(client)[0].ok());
  EXPECT_EQ(client.tls->resumed, 1u);
}

TEST_F(TlsFixture, AServerWithACertificateFromAnotherCaIsRejected) {
  const auto ours = island("ours", {"127.0.0.1"});
  const auto theirs = island("theirs", {"127.0.0.1"});
  start(theirs);
  const auto result = get(trusting(ours))[0];
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, ClientErrorKind::connect);
  EXPECT_NE(result.message.find("certificate verify failed"), std::string::npos) << result.message;
  EXPECT_TRUE(get(trusting(theirs))[0].ok());  // the server is unharmed
}

TEST_F(TlsFixture, AServerWithTheCertificateOfAnotherAddressIsRejected) {
  const auto certs = island("a", {"127.0.0.5"});
  start(certs, "127.0.0.5");  // listening on 127.0.0.1
  const auto result = get(trusting(certs))[0];
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error, ClientErrorKind::connect);
}

TEST_F(TlsFixture, APlainHttpClientIsClosedCleanlyAndTheServerServesOn) {
  const auto certs = island("a", {"127.0.0.1"});
  start(certs);
  const auto reply = testing::raw_exchange(endpoint(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3000ms);
  EXPECT_EQ(reply.find("HTTP/1.1"), std::string::npos) << reply;
  const auto plain = get(HttpClientOptions{})[0];
  EXPECT_FALSE(plain.ok());
  EXPECT_TRUE(testing::eventually([&] { return server().connections() == 0; }, 3000ms));
  EXPECT_TRUE(get(trusting(certs))[0].ok());
}

TEST_F(TlsFixture, StreamedAnswersAreReadOverTls) {
  const auto certs = island("a", {"127.0.0.1"});
  start(certs);
  StreamOptions options;
  options.tls = make_client_tls(certs / "ca.pem");
  HttpRequest request;
  request.target = "/streamed";
  std::string body;
  const auto result = fetch_stream(endpoint(), request, options, [&](std::string_view bytes) {
    body += bytes;
    return true;
  });
  ASSERT_TRUE(result.head) << result.message;
  EXPECT_EQ(result.head->status, 200);
  EXPECT_EQ(body, "{\"path\":\"/streamed\"}");
}

}  // namespace
}  // namespace isla::net
