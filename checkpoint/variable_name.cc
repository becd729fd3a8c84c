#include "checkpoint/variable_name.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace flow::checkpoint {
namespace {

bool IsSafeChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == ':' || c == '+' || c == '=' || c == '@';
}

std::string Quoted(absl::string_view name) {
  // Escaping keeps a NUL or newline in a hostile name from truncating or forging the message.
  constexpr size_t kShown = 64;
  std::string shown = absl::CHexEscape(name.substr(0, kShown));
  if (name.size() > kShown) absl::StrAppend(&shown, "...");
  return absl::StrCat("\"", shown, "\"");
}

}  // namespace

absl::Status CheckVariableName(absl::string_view name) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsafe variable name ", Quoted(name), ": ", why));
  };
  if (name.empty()) return refuse("it is empty");
  if (name.size() > kMaxVariableNameBytes) {
    return refuse(absl::StrCat("it is ", name.size(), " bytes long; at most ",
                               kMaxVariableNameBytes, " fit in one path component"));
  }
  for (char c : name) {
    if (c == '\0') return refuse("it contains a NUL byte");
    if (c == '/' || c == '\\') return refuse("it contains a path separator");
    if (!IsSafeChar(c)) {
      return refuse(absl::StrCat("character ", Quoted(absl::string_view(&c, 1)),
                                 " is not one of letters, digits and -_.:+=@"));
    }
  }
  if (name[0] == '.') return refuse("it starts with '.' (\".\", \"..\" and hidden names)");
  if (name == kSnapshotDoneFile) return refuse("it is the name of the snapshot's marker file");
  return absl::OkStatus();
}

absl::Status CheckDistinctVariableNames(const std::vector<std::string>& names) {
  absl::flat_hash_map<std::string, const std::string*> by_folded_name;
  for (const std::string& name : names) {
    FLOWRT_RETURN_IF_ERROR(CheckVariableName(name));
    auto [it, inserted] = by_folded_name.emplace(absl::AsciiStrToLower(name), &name);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable names ", Quoted(*it->second), " and ", Quoted(name),
          *it->second == name ? " are duplicates"
                              : " differ only in case (one directory on case-insensitive "
                                "file systems)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace flow::checkpoint
