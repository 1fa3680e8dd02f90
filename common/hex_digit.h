// One hex digit's value, shared by FromHex (common/bytes.cc) and
// percent-decoding (common/http/url.cc).
#pragma once

namespace shoebox {

// 0..15 for a hex digit (either case), -1 for anything else.
int HexDigitValue(char c);

}  // namespace shoebox
