#pragma once
// The daily bulletin (每日疫情通报) and the public portal's content (宣传), issue 10.
//
// A bulletin is one local day (0-24 h) of one area, counted from the cases and contacts by the
// rules of core/bulletin. It is generated as a draft (by a command-centre user, or by the
// scheduled pass at the set hour for yesterday), reviewed (a note, the notices' wording), and
// published. A published day is never edited: a correction is a new revision generated from the
// data, published with a reason, which writes one erratum per changed figure and supersedes the
// earlier revision. Articles (health education) are drafted, published and withdrawn.
//
// Drafts and articles in preparation need bulletin.publish; reading bulletins needs
// analytics.read; a bulletin or article outside the caller's area answers like an unknown one.
// What the public portal reads (published bulletins, articles, errata, open data, traveller
// measures) takes no caller and holds nothing personal.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/bulletin.hpp"
#include "core/caller.hpp"
#include "core/date.hpp"
#include "core/policy.hpp"
#include "store/bulletin_repository.hpp"
#include "store/repository.hpp"

namespace bihuan::bulletin {

struct BulletinView {
  store::BulletinRow row;
  Figures figures;
  std::vector<Notice> notices;
  std::string area_name;
  bool latest = true;                 // no later revision exists
  std::vector<store::ErratumRow> errata;  // of this revision (when it corrected an earlier one)
};

struct NoticeEdit {
  std::int64_t case_id = 0;
  std::string kind;  // which notice of the case (confirmed | asymptomatic | converted)
  std::optional<std::string> text_zh, text_en;
};

struct ArticleInput {
  std::optional<std::string> category, title, summary, body;
};

// The measures a traveller from an area meets (from the active profile).
struct TravellerMeasures {
  std::string profile, profile_title;
  std::string area_code, area_name;
  struct Rule {
    std::string level;        // high | medium | low | inbound
    std::string group_key, group_name_zh, note;
    std::vector<policy::Phase> phases;
    std::vector<std::string> units;  // published risk areas of that level inside the area
  };
  std::vector<Rule> rules;
};

// Figures as JSON text and back (the stored form).
std::string figures_json(const Figures& f);
Figures figures_from_json(const std::string& text);
std::string notices_json(const std::vector<Notice>& ns);
std::vector<Notice> notices_from_json(const std::string& text);

class Service {
 public:
  Service(store::Repository& repo, const Clock& clock, LocalTime local);
  ~Service();

  // The area a caller's bulletins cover by default: their area; the whole system's single top
  // area for a system-wide caller.
  std::string default_area(const Caller& c);

  // Creates the day's draft, or refreshes the open draft, or starts a correction of a published
  // day (a new revision). day "" = yesterday; area "" = default_area.
  BulletinView generate(const std::string& day, const std::string& area, const Caller& c);
  BulletinView get(std::int64_t id, const Caller& c);
  // Newest days first; status "" = any.
  std::vector<store::BulletinRow> list(const std::string& status, const std::string& before_day, int limit,
                                       const Caller& c);
  // Review of a draft: the note and the wording of notices.
  BulletinView edit(std::int64_t id, const std::optional<std::string>& note, const std::vector<NoticeEdit>& notices,
                    std::int64_t rev, const Caller& c);
  // Publishes a draft (the latest revision); a correction needs a reason.
  BulletinView publish(std::int64_t id, const std::string& reason, std::int64_t rev, const Caller& c);
  // The bulletin as an Excel workbook (figures, breakdowns, notices, errata).
  std::string xlsx(std::int64_t id, const Caller& c);

  // The scheduled pass: at or after `hour` (local) creates yesterday's draft of the system's top
  // area if none exists yet. Returns the new bulletin's id.
  std::optional<std::int64_t> scheduled(Instant now, int hour);

  // Articles.
  store::ArticleRow create_article(const ArticleInput& in, const std::string& area, const Caller& c);
  store::ArticleRow update_article(std::int64_t id, const ArticleInput& in, std::int64_t rev, const Caller& c);
  store::ArticleRow publish_article(std::int64_t id, std::int64_t rev, const Caller& c);
  store::ArticleRow withdraw_article(std::int64_t id, const std::string& reason, std::int64_t rev, const Caller& c);
  store::ArticleRow article(std::int64_t id, const Caller& c);
  store::PageOf<store::ArticleRow> articles(const std::string& status, store::Page page, const Caller& c);

  // --- the public portal (no caller; published content only)
  // Published days of the area, newest first: the rows (figures as stored), not whole views.
  std::vector<store::BulletinRow> public_bulletins(const std::string& area, int limit, const std::string& before_day);
  std::optional<BulletinView> public_bulletin(const std::string& area, const std::string& day);
  std::vector<store::ErratumRow> public_errata(const std::string& area, int limit);
  std::vector<store::BulletinRow> public_open_data(const std::string& area);
  store::PageOf<store::ArticleRow> public_articles(store::Page page);
  std::optional<store::ArticleRow> public_article(std::int64_t id);
  // The portal's area: the system's single top area ("" when there are several).
  std::string top_area();
  std::string area_name(const std::string& code);
  // The districts under the portal's area, (code, name).
  std::vector<std::pair<std::string, std::string>> districts(const std::string& area);
  TravellerMeasures measures(const policy::Profile& profile, const std::string& area_code);

 private:
  template <typename F>
  auto write(F&& fn) -> decltype(fn());
  bool covers(const Caller& c, const std::string& area) const;
  void require(const Caller& c, Permission p) const;
  store::BulletinRow visible(std::int64_t id, const Caller& c);
  BulletinView view_of(const store::BulletinRow& b);
  BulletinView generate_at(const std::string& area, Date day, std::int64_t by, Instant now);
  std::pair<Figures, std::vector<Notice>> count_day(const std::string& area, Date day, Instant now);
  store::ArticleRow visible_article(std::int64_t id, const Caller& c);
  void audit(const Caller& c, const std::string& action, const std::string& entity, std::int64_t id,
             const std::string& reason, const std::string& detail);

  store::Repository& repo_;
  const Clock& clock_;
  LocalTime local_;
  std::unique_ptr<store::BulletinRepository> b_;
};

}  // namespace bihuan::bulletin
