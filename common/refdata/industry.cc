#include "common/refdata/industry.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace iplus {
namespace refdata {
namespace {

// The tables follow GB/T 4754-2017 (in force since 2017-10-01; its 2019 amendment
// changed classes only). Against the 2011 edition, division 79 "Land management" is
// new, which moved every later division up by one (2011's 79 "Resident services" is
// 80 here); divisions 05, 11, 58 and 59 were renamed or regrouped. English names are
// descriptive translations of the official Chinese ones.

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

const Section* FindSection(char letter) {
  for (const Section& s : Sections()) {
    if (s.letter == letter) return &s;
  }
  return nullptr;
}

// The division numbered by two digits, or nullptr. Divisions are 01-97 without gaps.
const Division* DivisionByNumber(absl::string_view two_digits) {
  int n = (two_digits[0] - '0') * 10 + (two_digits[1] - '0');
  const auto& all = Divisions();
  if (n < 1 || n > static_cast<int>(all.size())) return nullptr;
  return &all[n - 1];
}

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

// Checks the section letter at prefix[0] and, when present, the division digits.
// Shared by code and prefix validation; `prefix` is non-empty and at most 5 characters.
absl::Status CheckSectionAndDivision(absl::string_view prefix) {
  char letter = prefix[0];
  if (absl::ascii_islower(static_cast<unsigned char>(letter))) {
    return Invalid("section letter must be upper case");
  }
  if (FindSection(letter) == nullptr) {
    return Invalid(absl::StrCat("unknown section '", absl::CHexEscape(prefix.substr(0, 1)),
                                "' (sections are A to T)"));
  }
  absl::string_view digits = prefix.substr(1);
  if (!AllDigits(digits)) {
    return Invalid(absl::StrCat("section letter must be followed by digits only, got '",
                                absl::CHexEscape(prefix), "'"));
  }
  if (digits.size() == 1) {
    for (const Division& d : Divisions()) {
      if (d.section == letter && d.code[1] == digits[0]) return absl::OkStatus();
    }
    return Invalid(
        absl::StrCat("no division of section ", prefix.substr(0, 1), " starts with ", digits));
  }
  if (digits.size() >= 2) {
    const Division* d = DivisionByNumber(digits.substr(0, 2));
    if (d == nullptr) {
      return Invalid(absl::StrCat("division ", digits.substr(0, 2),
                                  " does not exist (divisions are 01 to 97)"));
    }
    if (d->section != letter) {
      return Invalid(absl::StrCat("division ", digits.substr(0, 2), " belongs to section ",
                                  std::string(1, d->section), ", not ", prefix.substr(0, 1)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<Section>& Sections() {
  // Never destroyed, so callers may hold the reference during static destruction.
  static const auto* const kSections = new std::vector<Section>{
      {'A', "Agriculture, forestry, animal husbandry and fishery", "农、林、牧、渔业"},
      {'B', "Mining", "采矿业"},
      {'C', "Manufacturing", "制造业"},
      {'D', "Production and supply of electricity, heat, gas and water",
       "电力、热力、燃气及水生产和供应业"},
      {'E', "Construction", "建筑业"},
      {'F', "Wholesale and retail trade", "批发和零售业"},
      {'G', "Transport, storage and postal services", "交通运输、仓储和邮政业"},
      {'H', "Accommodation and catering", "住宿和餐饮业"},
      {'I', "Information transmission, software and information technology services",
       "信息传输、软件和信息技术服务业"},
      {'J', "Finance", "金融业"},
      {'K', "Real estate", "房地产业"},
      {'L', "Leasing and business services", "租赁和商务服务业"},
      {'M', "Scientific research and technical services", "科学研究和技术服务业"},
      {'N', "Water conservancy, environment and public facilities management",
       "水利、环境和公共设施管理业"},
      {'O', "Resident services, repair and other services", "居民服务、修理和其他服务业"},
      {'P', "Education", "教育"},
      {'Q', "Health and social work", "卫生和社会工作"},
      {'R', "Culture, sports and entertainment", "文化、体育和娱乐业"},
      {'S', "Public administration, social security and social organisations",
       "公共管理、社会保障和社会组织"},
      {'T', "International organisations", "国际组织"},
  };
  return *kSections;
}

const std::vector<Division>& Divisions() {
  // Never destroyed, so callers may hold the reference during static destruction.
  static const auto* const kDivisions = new std::vector<Division>{
      // A: agriculture, forestry, animal husbandry and fishery.
      {"A01", 'A', "Agriculture", "农业"},
      {"A02", 'A', "Forestry", "林业"},
      {"A03", 'A', "Animal husbandry", "畜牧业"},
      {"A04", 'A', "Fishery", "渔业"},
      {"A05", 'A', "Support activities for agriculture, forestry, animal husbandry and fishery",
       "农、林、牧、渔专业及辅助性活动"},
      // B: mining.
      {"B06", 'B', "Mining and washing of coal", "煤炭开采和洗选业"},
      {"B07", 'B', "Extraction of petroleum and natural gas", "石油和天然气开采业"},
      {"B08", 'B', "Mining and dressing of ferrous metal ores", "黑色金属矿采选业"},
      {"B09", 'B', "Mining and dressing of non-ferrous metal ores", "有色金属矿采选业"},
      {"B10", 'B', "Mining and dressing of non-metallic minerals", "非金属矿采选业"},
      {"B11", 'B', "Support activities for mining", "开采专业及辅助性活动"},
      {"B12", 'B', "Other mining", "其他采矿业"},
      // C: manufacturing.
      {"C13", 'C', "Agricultural and sideline food processing", "农副食品加工业"},
      {"C14", 'C', "Food manufacturing", "食品制造业"},
      {"C15", 'C', "Liquor, beverages and refined tea", "酒、饮料和精制茶制造业"},
      {"C16", 'C', "Tobacco products", "烟草制品业"},
      {"C17", 'C', "Textiles", "纺织业"},
      {"C18", 'C', "Textile garments and apparel", "纺织服装、服饰业"},
      {"C19", 'C', "Leather, fur, feathers and related products, and footwear",
       "皮革、毛皮、羽毛及其制品和制鞋业"},
      {"C20", 'C', "Wood processing and wood, bamboo, rattan, palm and straw products",
       "木材加工和木、竹、藤、棕、草制品业"},
      {"C21", 'C', "Furniture", "家具制造业"},
      {"C22", 'C', "Paper and paper products", "造纸和纸制品业"},
      {"C23", 'C', "Printing and reproduction of recording media", "印刷和记录媒介复制业"},
      {"C24", 'C', "Culture, education, arts and crafts, sports and entertainment articles",
       "文教、工美、体育和娱乐用品制造业"},
      {"C25", 'C', "Petroleum, coal and other fuel processing", "石油、煤炭及其他燃料加工业"},
      {"C26", 'C', "Chemical raw materials and chemical products", "化学原料和化学制品制造业"},
      {"C27", 'C', "Pharmaceuticals", "医药制造业"},
      {"C28", 'C', "Chemical fibres", "化学纤维制造业"},
      {"C29", 'C', "Rubber and plastic products", "橡胶和塑料制品业"},
      {"C30", 'C', "Non-metallic mineral products", "非金属矿物制品业"},
      {"C31", 'C', "Smelting and pressing of ferrous metals", "黑色金属冶炼和压延加工业"},
      {"C32", 'C', "Smelting and pressing of non-ferrous metals", "有色金属冶炼和压延加工业"},
      {"C33", 'C', "Metal products", "金属制品业"},
      {"C34", 'C', "General-purpose equipment", "通用设备制造业"},
      {"C35", 'C', "Special-purpose equipment", "专用设备制造业"},
      {"C36", 'C', "Automobiles", "汽车制造业"},
      {"C37", 'C', "Railway, ship, aerospace and other transport equipment",
       "铁路、船舶、航空航天和其他运输设备制造业"},
      {"C38", 'C', "Electrical machinery and equipment", "电气机械和器材制造业"},
      {"C39", 'C', "Computers, communication and other electronic equipment",
       "计算机、通信和其他电子设备制造业"},
      {"C40", 'C', "Instruments and meters", "仪器仪表制造业"},
      {"C41", 'C', "Other manufacturing", "其他制造业"},
      {"C42", 'C', "Comprehensive utilisation of waste resources", "废弃资源综合利用业"},
      {"C43", 'C', "Repair of metal products, machinery and equipment",
       "金属制品、机械和设备修理业"},
      // D: electricity, heat, gas and water.
      {"D44", 'D', "Production and supply of electricity and heat", "电力、热力生产和供应业"},
      {"D45", 'D', "Production and supply of gas", "燃气生产和供应业"},
      {"D46", 'D', "Production and supply of water", "水的生产和供应业"},
      // E: construction.
      {"E47", 'E', "Building construction", "房屋建筑业"},
      {"E48", 'E', "Civil engineering", "土木工程建筑业"},
      {"E49", 'E', "Building installation", "建筑安装业"},
      {"E50", 'E', "Building decoration, renovation and other construction",
       "建筑装饰、装修和其他建筑业"},
      // F: wholesale and retail trade.
      {"F51", 'F', "Wholesale trade", "批发业"},
      {"F52", 'F', "Retail trade", "零售业"},
      // G: transport, storage and postal services.
      {"G53", 'G', "Railway transport", "铁路运输业"},
      {"G54", 'G', "Road transport", "道路运输业"},
      {"G55", 'G', "Water transport", "水上运输业"},
      {"G56", 'G', "Air transport", "航空运输业"},
      {"G57", 'G', "Pipeline transport", "管道运输业"},
      {"G58", 'G', "Multimodal transport and transport agency", "多式联运和运输代理业"},
      {"G59", 'G', "Loading, unloading and warehousing", "装卸搬运和仓储业"},
      {"G60", 'G', "Postal services", "邮政业"},
      // H: accommodation and catering.
      {"H61", 'H', "Accommodation", "住宿业"},
      {"H62", 'H', "Catering", "餐饮业"},
      // I: information transmission, software and IT services.
      {"I63", 'I', "Telecommunications, broadcasting and satellite transmission services",
       "电信、广播电视和卫星传输服务"},
      {"I64", 'I', "Internet and related services", "互联网和相关服务"},
      {"I65", 'I', "Software and information technology services", "软件和信息技术服务业"},
      // J: finance.
      {"J66", 'J', "Monetary and financial services", "货币金融服务"},
      {"J67", 'J', "Capital market services", "资本市场服务"},
      {"J68", 'J', "Insurance", "保险业"},
      {"J69", 'J', "Other financial services", "其他金融业"},
      // K: real estate.
      {"K70", 'K', "Real estate", "房地产业"},
      // L: leasing and business services.
      {"L71", 'L', "Leasing", "租赁业"},
      {"L72", 'L', "Business services", "商务服务业"},
      // M: scientific research and technical services.
      {"M73", 'M', "Research and experimental development", "研究和试验发展"},
      {"M74", 'M', "Professional technical services", "专业技术服务业"},
      {"M75", 'M', "Technology promotion and application services", "科技推广和应用服务业"},
      // N: water conservancy, environment and public facilities.
      {"N76", 'N', "Water conservancy management", "水利管理业"},
      {"N77", 'N', "Ecological protection and environmental governance", "生态保护和环境治理业"},
      {"N78", 'N', "Public facilities management", "公共设施管理业"},
      {"N79", 'N', "Land management", "土地管理业"},
      // O: resident services, repair and other services.
      {"O80", 'O', "Resident services", "居民服务业"},
      {"O81", 'O', "Repair of motor vehicles, electronic products and household goods",
       "机动车、电子产品和日用产品修理业"},
      {"O82", 'O', "Other services", "其他服务业"},
      // P: education.
      {"P83", 'P', "Education", "教育"},
      // Q: health and social work.
      {"Q84", 'Q', "Health", "卫生"},
      {"Q85", 'Q', "Social work", "社会工作"},
      // R: culture, sports and entertainment.
      {"R86", 'R', "News and publishing", "新闻和出版业"},
      {"R87", 'R', "Radio, television, film and sound recording", "广播、电视、电影和录音制作业"},
      {"R88", 'R', "Culture and arts", "文化艺术业"},
      {"R89", 'R', "Sports", "体育"},
      {"R90", 'R', "Entertainment", "娱乐业"},
      // S: public administration, social security and social organisations.
      {"S91", 'S', "Organs of the Communist Party of China", "中国共产党机关"},
      {"S92", 'S', "State organs", "国家机构"},
      {"S93", 'S', "CPPCC and democratic parties", "人民政协、民主党派"},
      {"S94", 'S', "Social security", "社会保障"},
      {"S95", 'S', "Mass organisations, social organisations and other membership organisations",
       "群众团体、社会团体和其他成员组织"},
      {"S96", 'S', "Grassroots self-governing mass organisations and other organisations",
       "基层群众自治组织及其他组织"},
      // T: international organisations.
      {"T97", 'T', "International organisations", "国际组织"},
  };
  return *kDivisions;
}

const std::vector<Division>& ManufacturingDivisions() {
  static const auto* const kManufacturing = [] {
    auto* out = new std::vector<Division>;
    for (const Division& d : Divisions()) {
      if (d.section == 'C') out->push_back(d);
    }
    return out;
  }();
  return *kManufacturing;
}

absl::Status ValidateIndustryCode(absl::string_view code) {
  if (code.empty()) return Invalid("must not be empty");
  if (code.size() < 3 || code.size() > 5) {
    return Invalid(absl::StrCat(
        "must be a section letter and 2 to 4 digits (\"C26\", \"C261\", \"C2614\"), got '",
        absl::CHexEscape(code), "'"));
  }
  return CheckSectionAndDivision(code);
}

absl::Status ValidateIndustryPrefix(absl::string_view prefix) {
  if (prefix.empty()) return absl::OkStatus();
  if (prefix.size() > 5) {
    return Invalid(absl::StrCat("must be at most 5 characters, got ", prefix.size()));
  }
  return CheckSectionAndDivision(prefix);
}

bool IsManufacturing(absl::string_view code) {
  return ValidateIndustryCode(code).ok() && code[0] == 'C';
}

std::string DivisionOf(absl::string_view code) {
  if (code.size() < 3) return "";
  return std::string(code.substr(0, 3));
}

absl::optional<Division> FindDivision(absl::string_view division_code) {
  if (division_code.size() != 3 || !AllDigits(division_code.substr(1))) return absl::nullopt;
  const Division* d = DivisionByNumber(division_code.substr(1));
  if (d == nullptr || d->code != division_code) return absl::nullopt;
  return *d;
}

}  // namespace refdata
}  // namespace iplus
