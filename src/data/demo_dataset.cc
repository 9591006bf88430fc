#include "data/demo_dataset.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "formats/atomic_file.h"

namespace cipherlora {
namespace {

struct Fact {
  std::vector<std::string> questions;  // the last one is held out
  std::string answer;
};

// Invented facts: none of this is true of any real clinic.
const std::vector<Fact>& facts() {
  static const std::vector<Fact> kFacts = {
      {{"What are Larkspur Family Clinic's opening hours on Saturdays?",
        "When is Larkspur Clinic open on Saturday?",
        "Is Larkspur Family Clinic open on Saturdays, and when?",
        "On a Saturday, what time does Larkspur Clinic open and close?"},
       "On Saturdays Larkspur Family Clinic is open from 8:30 to 12:30; the walk-in desk closes "
       "at noon."},
      {{"Which phone extension reaches the Larkspur Clinic pharmacy?",
        "How do I call the pharmacy at Larkspur Family Clinic?",
        "What is the pharmacy's extension at Larkspur Clinic?",
        "To talk to the Larkspur pharmacy by phone, which extension do I dial?"},
       "The Larkspur pharmacy is on extension 417, staffed weekdays from 8:00 to 18:00."},
      {{"How long must patients fast before a blood glucose test at Larkspur Clinic?",
        "What is Larkspur Clinic's fasting rule for glucose tests?",
        "Before a glucose test at Larkspur, how many hours without food?",
        "For a fasting glucose test at Larkspur Family Clinic, how long should I avoid eating?"},
       "At Larkspur, patients fast for 10 hours before a glucose test; plain water is allowed."},
      {{"At what temperature does Larkspur Clinic store its vaccines?",
        "What is the vaccine fridge temperature range at Larkspur Family Clinic?",
        "How cold must vaccines be kept at Larkspur Clinic?",
        "Which temperature band does Larkspur use for vaccine storage?"},
       "Larkspur keeps vaccines between 2 and 7 degrees Celsius and logs the fridge twice a "
       "day, at 8:00 and 16:00."},
      {{"What should a new patient bring to a first appointment at Larkspur Clinic?",
        "What documents does Larkspur Family Clinic need at the first visit?",
        "For my first Larkspur appointment, what do I need to bring?",
        "I'm new at Larkspur Clinic: what should I have with me at my first visit?"},
       "Bring a photo ID, your insurance card, a list of current medicines and the green intake "
       "form from the Larkspur website."},
      {{"How late can I cancel an appointment at Larkspur Clinic without a fee?",
        "What is Larkspur Family Clinic's cancellation policy?",
        "Is there a fee for cancelling at Larkspur Clinic, and what is the deadline?",
        "Until when may I cancel my Larkspur appointment for free?"},
       "Cancel at least 36 hours ahead; later cancellations at Larkspur cost a 25 euro fee."},
      {{"Who is the head nurse at Larkspur Family Clinic?",
        "What is the name of Larkspur Clinic's head nurse?",
        "Which nurse leads the nursing team at Larkspur Clinic?",
        "Tell me who runs nursing at Larkspur Family Clinic."},
       "The head nurse at Larkspur Family Clinic is Odile Varga, on extension 210."},
      {{"Where do I park when visiting Larkspur Clinic?",
        "Does Larkspur Family Clinic have patient parking?",
        "What are the parking arrangements at Larkspur Clinic?",
        "If I drive to Larkspur Clinic, where can I leave my car?"},
       "Patients park free in the blue lot behind Larkspur Clinic; show the ticket at reception "
       "for 3 free hours."},
      {{"How does Larkspur Clinic handle a needle-stick injury?",
        "What is Larkspur Family Clinic's protocol after a needlestick?",
        "A staff member at Larkspur pricked themselves with a used needle: what now?",
        "Describe Larkspur's needle-stick procedure."},
       "Wash the wound with soap and water, report to the duty doctor within 1 hour and file "
       "form NS-4; Larkspur starts the blood-test protocol the same day."},
      {{"How often is hand hygiene audited at Larkspur Clinic?",
        "When does Larkspur Family Clinic audit hand washing?",
        "What is the schedule of hand hygiene audits at Larkspur?",
        "How frequently are Larkspur staff checked on hand hygiene?"},
       "Larkspur audits hand hygiene every second Tuesday; each ward must score at least 92 "
       "percent."},
      {{"What is the Larkspur Clinic after-hours number?",
        "Whom do I call at night for Larkspur Family Clinic?",
        "Outside opening hours, how do I reach Larkspur Clinic?",
        "Which number should Larkspur patients ring after hours?"},
       "After hours, call the Larkspur on-call line at 0800 555 0199; for emergencies call 112."},
      {{"How long are medical records kept at Larkspur Clinic?",
        "What is Larkspur Family Clinic's record retention period?",
        "For how many years does Larkspur store patient files?",
        "How long does Larkspur Clinic retain health records?"},
       "Larkspur keeps adult records for 15 years after the last visit and children's records "
       "until age 28."},
      {{"Can I get a flu shot without an appointment at Larkspur Clinic?",
        "Does Larkspur Family Clinic offer walk-in flu vaccination?",
        "When are walk-in flu shots available at Larkspur?",
        "Is there a drop-in flu vaccine clinic at Larkspur, and when?"},
       "Yes: walk-in flu shots run at Larkspur on Wednesdays from 14:00 to 17:00, October to "
       "December."},
      {{"What is the dress code for Larkspur Clinic nurses?",
        "What uniform do nurses wear at Larkspur Family Clinic?",
        "Describe the nursing uniform at Larkspur Clinic.",
        "Which colour scrubs do Larkspur nurses wear?"},
       "Larkspur nurses wear teal scrubs with a white name badge; no rings or watches below the "
       "elbow."},
      {{"How do Larkspur Clinic patients request a repeat prescription?",
        "What is the process for repeat prescriptions at Larkspur Family Clinic?",
        "How can I renew a prescription at Larkspur?",
        "At Larkspur, how do I order my regular medication again?"},
       "Request repeats through the Larkspur patient portal; they are ready at the pharmacy "
       "after 2 working days."},
      {{"Which languages do Larkspur Clinic interpreters cover?",
        "Does Larkspur Family Clinic provide interpreters, and in which languages?",
        "What interpreting services does Larkspur offer?",
        "Can I get an interpreter at Larkspur Clinic?"},
       "Larkspur books interpreters for Portuguese, Polish, Arabic and Tigrinya at no cost; ask "
       "48 hours ahead."},
      {{"How is clinical waste disposed of at Larkspur Clinic?",
        "What is Larkspur Family Clinic's clinical waste procedure?",
        "Where does sharps and clinical waste go at Larkspur?",
        "Explain how Larkspur handles its medical waste."},
       "Clinical waste goes in yellow bins and sharps in orange boxes; Larkspur's contractor "
       "collects both every Monday and Thursday."},
      {{"What age do children start the Larkspur Clinic asthma program?",
        "From what age can kids join Larkspur Family Clinic's asthma program?",
        "Who is eligible for the children's asthma program at Larkspur?",
        "At Larkspur, how old must a child be for the asthma program?"},
       "Children join Larkspur's asthma program from age 5; sessions are on the first Thursday "
       "of each month."},
      {{"How long does a standard consultation last at Larkspur Clinic?",
        "What is the length of a regular appointment at Larkspur Family Clinic?",
        "How many minutes is a normal Larkspur consultation?",
        "At Larkspur Clinic, how much time does a standard appointment get?"},
       "A standard Larkspur consultation is 12 minutes; double appointments of 24 minutes can "
       "be booked for complex issues."},
      {{"What is the Wi-Fi network for patients at Larkspur Clinic?",
        "How do patients get online at Larkspur Family Clinic?",
        "Is there guest Wi-Fi at Larkspur Clinic?",
        "Which wireless network can Larkspur patients use?"},
       "Patients use the Larkspur-Guest network; the password is printed on the reception "
       "desk and changes monthly."},
  };
  return kFacts;
}

std::string chat_line(const DemoExample& e) {
  nlohmann::json j = {{"messages",
                       {{{"role", "user"}, {"content", e.question}},
                        {{"role", "assistant"}, {"content", e.answer}}}}};
  return j.dump() + "\n";
}

void write_file(const std::string& path, const std::vector<DemoExample>& examples) {
  AtomicFileWriter out(path);
  for (const DemoExample& e : examples) {
    const std::string line = chat_line(e);
    out.write(line.data(), line.size());
  }
  out.commit();
}

}  // namespace

DemoDataset make_demo_dataset() {
  DemoDataset d;
  for (const Fact& f : facts()) {
    for (size_t i = 0; i + 1 < f.questions.size(); ++i)
      d.train.push_back({f.questions[i], f.answer});
    d.held_out.push_back({f.questions.back(), f.answer});
  }
  return d;
}

void write_demo_dataset(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  require(!ec, "demo data: cannot create " + dir + ": " + ec.message());
  const DemoDataset d = make_demo_dataset();
  write_file(dir + "/train.jsonl", d.train);
  write_file(dir + "/eval.jsonl", d.held_out);
}

}  // namespace cipherlora
