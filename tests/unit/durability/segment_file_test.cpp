#include "durability/segment_file.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include "durability/record_codec.hpp"

namespace isla::durability {
namespace {

std::string encoded(std::uint8_t type, std::string_view payload) {
  std::string out;
  append_encoded_record(out, type, payload);
  return out;
}

TEST(RecordCodec, LayoutIsLengthCrcTypePayloadLittleEndian) {
  const std::string bytes = encoded(7, "abc");
  ASSERT_EQ(bytes.size(), kRecordHeaderBytes + 3);
  EXPECT_EQ(bytes.substr(0, 4), std::string("\x03\x00\x00\x00", 4));
  const unsigned char covered[] = {7, 'a', 'b', 'c'};
  const auto crc = static_cast<std::uint32_t>(crc32(0, covered, sizeof covered));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(static_cast<std::uint8_t>(bytes[4 + i]), (crc >> (8 * i)) & 0xFF) << "byte " << i;
  }
  EXPECT_EQ(bytes[8], 7);
  EXPECT_EQ(bytes.substr(9), "abc");
}

TEST(RecordCodec, DecodesWhatItEncodes) {
  const std::string bytes = encoded(200, std::string("\0payload", 8));
  const DecodedRecord record = decode_record(bytes);
  EXPECT_EQ(record.status, DecodeStatus::kOk);
  EXPECT_EQ(record.type, 200);
  EXPECT_EQ(record.payload, std::string("\0payload", 8));
  EXPECT_EQ(record.size, bytes.size());
}

TEST(RecordCodec, TellsShortHeaderShortPayloadAndCrcMismatchApart) {
  const std::string bytes = encoded(1, "payload");
  EXPECT_EQ(decode_record(bytes.substr(0, 5)).status, DecodeStatus::kShortHeader);
  EXPECT_EQ(decode_record(bytes.substr(0, 12)).status, DecodeStatus::kShortPayload);
  std::string flipped = bytes;
  flipped[8] = 2;  // the type is covered by the CRC
  EXPECT_EQ(decode_record(flipped).status, DecodeStatus::kCrcMismatch);
}

TEST(SegmentFileName, CarriesTheFirstSequenceNumberInSixteenHexDigits) {
  EXPECT_EQ(segment_file_name(1), "wal-0000000000000001.log");
  EXPECT_EQ(segment_file_name(0xabc), "wal-0000000000000abc.log");
  EXPECT_EQ(parse_segment_file_name("wal-0000000000000abc.log"), 0xabcu);
  EXPECT_EQ(parse_segment_file_name("wal-0000000000000ABC.log"), std::nullopt);
  EXPECT_EQ(parse_segment_file_name("wal-0000000000000001.log.tmp"), std::nullopt);
  EXPECT_EQ(parse_segment_file_name("wal-1.log"), std::nullopt);
  EXPECT_EQ(parse_segment_file_name("hard_state"), std::nullopt);
}

TEST(ScanSegment, FindsWhereGoodRecordsEndAndWhy) {
  const std::string good = encoded(1, "one") + encoded(2, "two");
  EXPECT_FALSE(scan_segment(good).damage);
  EXPECT_EQ(scan_segment(good).records.size(), 2u);

  const SegmentScan zeros = scan_segment(good + std::string(30, '\0'));
  EXPECT_EQ(zeros.good_bytes, good.size());
  ASSERT_TRUE(zeros.damage);
  EXPECT_EQ(zeros.damage->reason, "zero-filled tail");

  std::string middle_damaged = good + encoded(3, "three");
  middle_damaged[10] ^= 1;  // first payload byte of record 1
  const SegmentScan middle = scan_segment(middle_damaged);
  ASSERT_TRUE(middle.damage);
  EXPECT_EQ(middle.damage->offset, 0u);
  EXPECT_EQ(middle.damage->reason, "crc mismatch");
  EXPECT_TRUE(middle.damage->followed_by_good_record);
}

}  // namespace
}  // namespace isla::durability
