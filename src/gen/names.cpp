#include "gen/names.hpp"

#include <array>
#include <vector>

namespace bihuan::gen {

namespace {

// Chinese characters are 3 bytes each in UTF-8; pools are written as one string and cut up.
std::vector<std::string> split_chars(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.emplace_back(s.substr(i, len));
    i += len;
  }
  return out;
}

const std::vector<std::string>& surnames() {
  // The 100 most common surnames, most common first.
  static const auto v = split_chars(
      "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
      "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤");
  return v;
}

const Discrete& surname_dist() {
  // Zipf-like: weight 1/(rank+3) roughly matches the steep head (王, 李, 张 ~ 7 % each).
  static const Discrete d = [] {
    std::vector<double> w;
    for (std::size_t i = 0; i < surnames().size(); ++i) w.push_back(1.0 / (static_cast<double>(i) + 3.0));
    return Discrete(w);
  }();
  return d;
}

const std::vector<std::string>& male_chars() {
  static const auto v = split_chars("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣博文东海亮晨阳建国志成浩然子轩宇航睿");
  return v;
}
const std::vector<std::string>& female_chars() {
  static const auto v = split_chars("芳娜敏静丽艳娟霞秀英玲桂兰婷雪琳晶燕红梅莉萍慧佳颖洁琪涵欣怡诗雨思梦馨悦瑶璐倩薇月");
  return v;
}
const std::vector<std::string>& neutral_chars() {
  static const auto v = split_chars("文明晓小春秋永新嘉安一子佳家天嘉立雅清玉");
  return v;
}

}  // namespace

std::string random_surname(Rng& rng) { return surnames()[surname_dist()(rng)]; }

std::string random_given_name(Rng& rng, bool male) {
  const auto& pool = male ? male_chars() : female_chars();
  std::string out;
  if (rng.chance(0.7)) {
    // Two characters: the first sometimes neutral.
    out = rng.chance(0.3) ? neutral_chars()[rng.below(neutral_chars().size())] : pool[rng.below(pool.size())];
  }
  out += pool[rng.below(pool.size())];
  return out;
}

std::string random_latin_name(Rng& rng, bool male) {
  static constexpr std::array<std::string_view, 16> kMale{"James", "John", "Robert", "Michael", "David", "Daniel",
                                                          "Thomas", "Alexander", "Hiroshi", "Min-jun", "Ivan",
                                                          "Pierre", "Lukas", "Ahmed", "Carlos", "Nguyen Van"};
  static constexpr std::array<std::string_view, 16> kFemale{"Mary", "Anna", "Sarah", "Emma", "Olivia", "Sophia",
                                                            "Yuki", "Ji-woo", "Natalia", "Marie", "Laura",
                                                            "Fatima", "Maria", "Elena", "Linh", "Hannah"};
  static constexpr std::array<std::string_view, 16> kLast{"Smith", "Johnson", "Brown", "Tanaka", "Kim", "Lee",
                                                          "Petrov", "Martin", "Muller", "Khan", "Garcia",
                                                          "Rossi", "Tran", "Wilson", "Sato", "Park"};
  std::string out(male ? kMale[rng.below(kMale.size())] : kFemale[rng.below(kFemale.size())]);
  out += ' ';
  out += kLast[rng.below(kLast.size())];
  return out;
}

std::string_view random_foreign_nationality(Rng& rng) {
  static constexpr std::array<std::string_view, 12> kCodes{"KOR", "JPN", "USA", "RUS", "VNM", "DEU",
                                                           "GBR", "FRA", "PAK", "CAN", "AUS", "MNG"};
  static const Discrete d({20, 12, 12, 8, 8, 5, 5, 5, 4, 4, 3, 3});
  return kCodes[d(rng)];
}

std::string random_brand(Rng& rng) {
  static const auto v = split_chars("华联鑫盛恒达金源福瑞永丰兴旺嘉禾宏泰鸿运佳美天和新世纪百姓同仁康泰利民顺发");
  return v[rng.below(v.size())] + v[rng.below(v.size())];
}

std::string compound_name(Rng& rng) {
  static const auto first = split_chars("阳光金华东西南北青枫林翠竹和平幸福富康明珠锦绣碧水紫荆望京丽都朝");
  static const std::array<std::string_view, 10> kSuffix{"小区", "花园", "家园", "里", "苑", "公寓", "新村", "嘉园", "名苑", "华庭"};
  return first[rng.below(first.size())] + first[rng.below(first.size())] + std::string(kSuffix[rng.below(kSuffix.size())]);
}

std::string random_mobile(Rng& rng) {
  static constexpr std::array<std::string_view, 30> kPrefixes{
      "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
      "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "185", "186", "187", "188", "199"};
  std::string out(kPrefixes[rng.below(kPrefixes.size())]);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>('0' + rng.below(10)));
  return out;
}

std::string short_place_name(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kSuffixes{"社区居委会", "村委会", "居委会", "街道办事处", "街道",
                                                              "地区", "镇", "乡", "社区", "村"};
  for (auto suf : kSuffixes) {
    if (name.size() > suf.size() + 3 && name.ends_with(suf)) {
      name.remove_suffix(suf.size());
      break;
    }
  }
  return std::string(name);
}

}  // namespace bihuan::gen
