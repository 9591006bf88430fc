// The bundled demo data set, generated rather than shipped: the private knowledge of a fictional
// clinic (Larkspur Family Clinic) — opening hours, protocols, phone extensions — that no public
// model knows. Each fact has several phrasings of its question: most go to the training file,
// one paraphrase per fact is held out for evaluation, so the demo shows the adapter learned the
// facts rather than the sentences.
//
//   DemoDataset d = make_demo_dataset();
//   write_demo_dataset("runs/demo-data");   // train.jsonl + eval.jsonl (chat format)
#pragma once

#include <string>
#include <vector>

namespace cipherlora {

struct DemoExample {
  std::string question, answer;
};

struct DemoDataset {
  std::vector<DemoExample> train;     // several phrasings per fact
  std::vector<DemoExample> held_out;  // one unseen paraphrase per fact
};

DemoDataset make_demo_dataset();

// Writes <dir>/train.jsonl and <dir>/eval.jsonl as {"messages": [user, assistant]} lines,
// each file atomically. Creates dir if needed.
void write_demo_dataset(const std::string& dir);

}  // namespace cipherlora
