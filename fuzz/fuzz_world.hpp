#pragma once
// A small seeded world in a throwaway SQLite database (tmpfs): Beijing > Chaoyang > one street
// > one community > two grids, plus Dongcheng's grid 110101001001001 the demo manifest sends
// travellers to, a port, a quarantine site and an enterprise. The seed corpora use these codes
// so that valid inputs reach the writing paths.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "store/repository.hpp"

namespace bihuan::fuzz {

struct World {
  std::string url;
  std::unique_ptr<store::Repository> repo;
  std::int64_t port_org = 0, site_org = 0, enterprise_org = 0;

  explicit World(const std::string& name) {
    url = "sqlite:" + (scratch_dir() / (name + ".db")).string();
    repo = store::open_repository(url);
    std::vector<Area> areas;
    for (const auto& [code, n] : std::vector<std::pair<std::string, std::string>>{
             {"11", "北京市"}, {"1101", "市辖区"}, {"110101", "东城区"}, {"110101001", "东华门街道"},
             {"110101001001", "多福巷社区"}, {"110101001001001", "第1网格"}, {"110105", "朝阳区"},
             {"110105001", "建外街道"}, {"110105001001", "光华里社区"}, {"110105001001001", "第1网格"},
             {"110105001001002", "第2网格"}})
      areas.push_back(make_area(code, n));
    repo->upsert_areas(areas);
    std::vector<Org> orgs(3);
    orgs[0] = Org{0, "PORT-PEK", "首都机场口岸", OrgKind::port, "110105", "", ""};
    orgs[1] = Org{0, "SITE-1", "集中隔离点1", OrgKind::quarantine_site, "110105", "", ""};
    orgs[2] = Org{0, "91110105MA00000001", "光华科技有限公司", OrgKind::enterprise, "110105001001001", "", ""};
    repo->upsert_orgs(orgs);
    port_org = orgs[0].id;
    site_org = orgs[1].id;
    enterprise_org = orgs[2].id;
  }
};

}  // namespace bihuan::fuzz
