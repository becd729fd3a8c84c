#include "report/graph_dot.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "framework/op_registry.h"
#include "graph/compiled_job.h"
#include "graph/flow.h"
#include "runtime/executor.h"
#include "runtime/status.h"

namespace flow::jobs {
namespace {

// Distinct, readable colours for the shared arena offsets (cycled if there are more).
constexpr const char* kPalette[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                                    "#17becf", "#bcbd22", "#ff7f0e", "#393b79", "#637939",
                                    "#843c39", "#7b4173", "#3182bd", "#31a354", "#756bb1"};

// Ops that update a variable input in place (optimizer updates, the step counter).
bool IsUpdateOp(const std::string& type) {
  const OpSchema* schema = FindOp(type);
  return schema != nullptr && schema->mutates_input;
}

bool IsOptimizerOp(const std::string& type) {
  const OpSchema* schema = FindOp(type);
  return schema != nullptr && schema->optimizer;
}

// DOT string literal contents: escape quotes and backslashes.
std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
// HTML-like label text.
std::string Html(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string HumanBytes(int64_t bytes) {
  if (bytes >= 1 << 20) return absl::StrFormat("%.1f MiB", bytes / 1048576.0);
  if (bytes >= 1 << 10) return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrCat(bytes, " B");
}

}  // namespace

std::string JobToDot(const JobFunction& function) {
  const Executor& executor = CompiledJob::GetExecutor(function);
  const flowrt::JobConf& job = executor.job();  // as it runs, after the compile-time rewrites

  // Who produces each blob, and where the loss is (ops after it are backward or optimizer).
  std::map<std::string, int> producer;
  int loss_op = -1;
  for (int i = 0; i < job.op_size(); ++i) {
    for (const std::string& out : job.op(i).output()) {
      producer[out] = i;
      if (job.has_loss() && out == job.loss()) loss_op = i;
    }
  }
  // Arena offsets shared by two or more blobs get a colour each.
  std::map<int64_t, std::vector<std::string>> by_offset;
  for (const flowrt::OpConf& op : job.op()) {
    for (const std::string& out : op.output()) {
      const int64_t offset = executor.ArenaOffset(out);
      if (offset >= 0) by_offset[offset].push_back(out);
    }
  }
  std::map<int64_t, std::string> colour;
  int next_colour = 0;
  for (const auto& [offset, blobs] : by_offset) {
    if (blobs.size() < 2) continue;
    colour[offset] = kPalette[next_colour++ % (sizeof(kPalette) / sizeof(kPalette[0]))];
  }
  auto blob_colour = [&](const std::string& blob) -> std::string {
    auto it = colour.find(executor.ArenaOffset(blob));
    return it == colour.end() ? "" : it->second;
  };

  std::string dot = absl::StrCat(
      "digraph \"", Escape(job.name()), "\" {\n", "  graph [rankdir=TB, fontname=\"Helvetica\", ",
      "fontsize=12, nodesep=0.25, ranksep=0.35, label=<<b>", Html(job.name()), "</b> (",
      job.job_type() == flowrt::kTrain ? "train" : "predict", ", ", job.op_size(), " ops, arena ",
      HumanBytes(executor.arena_bytes()), ")>, labelloc=t];\n",
      "  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", "
      "fillcolor=white, margin=\"0.1,0.04\"];\n",
      "  edge [color=\"#888888\", arrowsize=0.6];\n");

  for (int i = 0; i < job.op_size(); ++i) {
    const flowrt::OpConf& op = job.op(i);
    const bool is_variable = op.type() == "variable", is_input = op.type() == "input";
    std::string rows = absl::StrCat("<b>", Html(op.name()), "</b>");
    if (!is_variable && !is_input) absl::StrAppend(&rows, "<br/><i>", Html(op.type()), "</i>");
    std::string border;
    for (const std::string& out : op.output()) {
      const BlobDesc* desc = executor.FindBlobDesc(out);
      if (desc == nullptr) continue;
      const int64_t offset = executor.ArenaOffset(out);
      const std::string c = blob_colour(out);
      std::string line = absl::StrCat(desc->shape.ToString(), " ", DataTypeShortName(desc->dtype));
      if (executor.BlobLayout(out) == Layout::kBlocked) absl::StrAppend(&line, " blocked");
      if (op.output_size() > 1) line = absl::StrCat(out.substr(out.rfind('/') + 1), ": ", line);
      if (offset >= 0) absl::StrAppend(&line, " @", offset);
      absl::StrAppend(&rows, "<br/>", Html(line));
      if (border.empty()) border = c;
    }
    if (IsUpdateOp(op.type())) {
      // Its variable inputs are updated in place: say so instead of drawing an edge from each
      // variable (those edges would cross the whole graph).
      for (const std::string& in : op.input()) {
        auto it = producer.find(in);
        if (it != producer.end() && job.op(it->second).type() == "variable") {
          absl::StrAppend(&rows, "<br/>updates ", Html(job.op(it->second).name()));
        }
      }
    }
    std::string attrs;
    if (is_variable) {
      attrs = "shape=cylinder, style=filled, fillcolor=\"#f6e8a6\"";
    } else if (is_input) {
      attrs = "shape=parallelogram, style=filled, fillcolor=\"#cfe3f7\"";
    } else if (IsOptimizerOp(op.type())) {
      attrs = "fillcolor=\"#f7c6c0\"";
    } else if (loss_op >= 0 && i > loss_op) {
      attrs = "fillcolor=\"#fde2bf\"";
    }
    if (!border.empty())
      absl::StrAppend(&attrs, attrs.empty() ? "" : ", ", "color=\"", border, "\", penwidth=2.5");
    absl::StrAppendFormat(&dot, "  op%d [label=<%s>%s%s];\n", i, rows, attrs.empty() ? "" : ", ",
                          attrs);
  }

  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < job.op_size(); ++i) {
    for (const std::string& in : job.op(i).input()) {
      auto it = producer.find(in);
      if (it == producer.end() || !seen.insert({it->second, i}).second) continue;
      const std::string c = blob_colour(in);
      const bool from_variable = job.op(it->second).type() == "variable";
      if (from_variable && IsUpdateOp(job.op(i).type())) continue;  // "updates" in its label
      std::string attrs;
      if (!c.empty()) attrs = absl::StrCat("color=\"", c, "\", penwidth=1.4");
      if (from_variable) attrs = "style=dashed, color=\"#b8a24a\"";
      absl::StrAppendFormat(&dot, "  op%d -> op%d%s;\n", it->second, i,
                            attrs.empty() ? "" : absl::StrCat(" [", attrs, "]"));
    }
  }

  // Legend: colours and the blobs sharing each arena offset.
  std::string legend = absl::StrCat(
      "<table border=\"0\" cellborder=\"1\" cellspacing=\"0\" cellpadding=\"3\">",
      "<tr><td colspan=\"3\"><b>legend</b></td></tr>",
      "<tr><td bgcolor=\"#cfe3f7\">placeholder</td><td bgcolor=\"#f6e8a6\">variable</td>"
      "<td>forward op</td></tr>");
  if (loss_op >= 0) {
    absl::StrAppend(&legend,
                    "<tr><td bgcolor=\"#fde2bf\">backward op</td><td bgcolor=\"#f7c6c0\">"
                    "optimizer op</td><td>@N = arena offset</td></tr>");
  } else {
    absl::StrAppend(&legend, "<tr><td colspan=\"3\">@N = arena offset</td></tr>");
  }
  if (!colour.empty()) {
    absl::StrAppend(&legend,
                    "<tr><td colspan=\"3\"><b>blobs sharing memory (same arena offset, "
                    "different lifetimes)</b></td></tr>");
    for (const auto& [offset, c] : colour) {
      std::vector<std::string> names;
      for (const std::string& blob : by_offset[offset]) names.push_back(Html(blob));
      // Wrap long lists, three names per line.
      std::string wrapped;
      for (size_t k = 0; k < names.size(); ++k) {
        absl::StrAppend(&wrapped, k == 0 ? "" : (k % 3 == 0 ? ",<br/>" : ", "), names[k]);
      }
      absl::StrAppend(&legend, "<tr><td bgcolor=\"", c, "\"> </td><td>@", offset,
                      "</td><td align=\"left\">", wrapped, "</td></tr>");
    }
  }
  absl::StrAppend(&legend, "</table>");
  absl::StrAppend(&dot, "  legend [shape=plaintext, style=\"\", label=<", legend, ">];\n}\n");
  return dot;
}

}  // namespace flow::jobs
