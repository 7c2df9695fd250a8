//===- KernelInfo.cpp - kernel metadata, grids and cache keys ------------===//
#include "parallax/Runtime/KernelInfo.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

using namespace parallax::rt;

//===----------------------------------------------------------------------===//
// A small JSON reader: enough for the metadata parallax-gen writes.
//===----------------------------------------------------------------------===//
namespace {
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;
  const Json *get(const std::string &k) const {
    for (auto &kv : obj)
      if (kv.first == k)
        return &kv.second;
    return nullptr;
  }
};

struct Parser {
  const std::string &s;
  size_t i = 0;
  std::string err;
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
      ++i;
  }
  bool fail(const std::string &m) {
    if (err.empty())
      err = m + " at offset " + std::to_string(i);
    return false;
  }
  bool parse(Json &v) {
    ws();
    if (i >= s.size())
      return fail("unexpected end of JSON");
    char c = s[i];
    if (c == '{') {
      v.kind = Json::Object;
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') {
        ++i;
        return true;
      }
      while (true) {
        Json key;
        ws();
        if (!parseString(key))
          return false;
        ws();
        if (i >= s.size() || s[i] != ':')
          return fail("expected ':'");
        ++i;
        Json val;
        if (!parse(val))
          return false;
        v.obj.emplace_back(key.str, std::move(val));
        ws();
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        if (i < s.size() && s[i] == '}') {
          ++i;
          return true;
        }
        return fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Json::Array;
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') {
        ++i;
        return true;
      }
      while (true) {
        Json val;
        if (!parse(val))
          return false;
        v.arr.push_back(std::move(val));
        ws();
        if (i < s.size() && s[i] == ',') {
          ++i;
          continue;
        }
        if (i < s.size() && s[i] == ']') {
          ++i;
          return true;
        }
        return fail("expected ',' or ']'");
      }
    }
    if (c == '"')
      return parseString(v);
    if (s.compare(i, 4, "true") == 0) {
      v.kind = Json::Bool;
      v.b = true;
      i += 4;
      return true;
    }
    if (s.compare(i, 5, "false") == 0) {
      v.kind = Json::Bool;
      i += 5;
      return true;
    }
    if (s.compare(i, 4, "null") == 0) {
      i += 4;
      return true;
    }
    char *end = nullptr;
    v.num = std::strtod(s.c_str() + i, &end);
    if (end == s.c_str() + i)
      return fail("unexpected character");
    v.kind = Json::Number;
    i = end - s.c_str();
    return true;
  }
  bool parseString(Json &v) {
    if (i >= s.size() || s[i] != '"')
      return fail("expected a string");
    ++i;
    v.kind = Json::String;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 1 < s.size())
        ++i;
      v.str += s[i++];
    }
    if (i >= s.size())
      return fail("unterminated string");
    ++i;
    return true;
  }
};

/// 64-bit FNV-1a, run twice with different offsets for a 128-bit key.
uint64_t fnv(const std::string &s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}
} // namespace

Status parallax::rt::parseKernelInfo(const std::string &text, KernelInfo &out) {
  Json root;
  Parser p{text};
  if (!p.parse(root) || root.kind != Json::Object)
    return Status::failure("kernel metadata is not valid JSON: " + p.err);
  auto str = [&](const char *k, std::string &dst) -> bool {
    const Json *v = root.get(k);
    if (!v || v->kind != Json::String)
      return false;
    dst = v->str;
    return true;
  };
  if (!str("entry", out.entry) || !str("chip", out.chip) ||
      !str("ptx_version", out.ptxVersion) || !str("compiler", out.compiler) ||
      !str("input_ir_sha256", out.inputIrHash))
    return Status::failure("kernel metadata lacks entry, chip, ptx_version, "
                           "compiler or input_ir_sha256");
  const Json *params = root.get("params");
  const Json *grid = root.get("grid");
  const Json *block = root.get("block");
  const Json *smem = root.get("shared_bytes");
  if (!params || params->kind != Json::Array || !grid || grid->arr.size() != 3 ||
      !block || block->arr.size() != 3 || !smem)
    return Status::failure("kernel metadata lacks params, grid[3], block[3] or "
                           "shared_bytes");
  out.params.clear();
  for (const Json &prm : params->arr) {
    const Json *n = prm.get("name"), *t = prm.get("type");
    if (!n || !t)
      return Status::failure("a kernel parameter lacks name or type");
    Param param{n->str, t->str == "ptr"};
    if (t->str == "tensor_map") {
      const Json *src = prm.get("source"), *shape = prm.get("shape"), *box = prm.get("box");
      if (!src || !shape || shape->kind != Json::Array || shape->arr.size() != 4 || !box ||
          box->kind != Json::Array || box->arr.size() != 3)
        return Status::failure("tensor map parameter '" + n->str +
                               "' needs source, shape[4] and box[3]");
      param.isTensorMap = true;
      param.tensorMap.source = src->str;
      for (const Json &x : shape->arr)
        param.tensorMap.shape.push_back(static_cast<int64_t>(x.num));
      for (const Json &x : box->arr)
        param.tensorMap.box.push_back(static_cast<int64_t>(x.num));
    } else if (t->str != "ptr" && t->str != "i64") {
      return Status::failure("kernel parameter '" + n->str + "' has unknown type '" +
                             t->str + "' (ptr, i64 or tensor_map)");
    }
    out.params.push_back(std::move(param));
  }
  for (int k = 0; k < 3; ++k) {
    out.grid[k] = grid->arr[k].str;
    out.block[k] = static_cast<int64_t>(block->arr[k].num);
  }
  out.sharedBytes = static_cast<int64_t>(smem->num);
  if (const Json *w = root.get("workspace_bytes_per_cta"))
    out.workspaceBytesPerCta = static_cast<int64_t>(w->num);
  if (const Json *c = root.get("cluster_merge"))
    out.clusterMerge = c->b;
  out.oneRowMergeDim.clear();
  if (const Json *d = root.get("one_row_merge_dim"); d && d->kind == Json::String)
    out.oneRowMergeDim = d->str;
  if (const Json *pl = root.get("programmatic_launch"))
    out.programmaticLaunch = pl->b;
  if (const Json *o = root.get("options")) {
    auto num = [&](const char *k) {
      const Json *v = o->get(k);
      return v ? v->num : 0.0;
    };
    auto flag = [&](const char *k) {
      const Json *v = o->get(k);
      return v && v->b;
    };
    KernelOptions &ko = out.options;
    ko.probe = flag("probe");
    ko.decode = flag("decode");
    ko.varlen = flag("varlen");
    ko.causal = flag("causal");
    ko.headDim = static_cast<int64_t>(num("head_dim"));
    ko.hq = static_cast<int64_t>(num("hq"));
    ko.hkv = static_cast<int64_t>(num("hkv"));
    ko.window = static_cast<int64_t>(num("window"));
    ko.pageSize = static_cast<int64_t>(num("page_size"));
    ko.scale = num("scale");
    out.blockN = static_cast<int64_t>(num("block_n"));
    out.kvGroups = std::max<int64_t>(1, static_cast<int64_t>(num("kv_groups")));
    if (const Json *d = o->get("dtype"))
      ko.dtype = d->str;
  }
  out.raw = text;
  return Status::success();
}

Status parallax::rt::evalGrid(const std::string &f,
                              const std::map<std::string, int64_t> &dims,
                              int64_t &out) {
  auto value = [&](const std::string &s, int64_t &v) -> bool {
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
      v = std::stoll(s);
      return true;
    }
    auto it = dims.find(s);
    if (it == dims.end())
      return false;
    v = it->second;
    return true;
  };
  size_t star = f.rfind('*');
  if (star != std::string::npos) { // "X*num_splits"
    int64_t a, b;
    Status s = evalGrid(f.substr(0, star), dims, a);
    if (!s)
      return s;
    if (!value(f.substr(star + 1), b))
      return Status::failure("grid formula '" + f + "' names a dimension that "
                             "was not given");
    out = a * b;
    return Status::success();
  }
  if (f.rfind("ceil(", 0) == 0 && f.back() == ')') {
    std::string inner = f.substr(5, f.size() - 6);
    size_t slash = inner.find('/');
    int64_t a, b;
    if (slash == std::string::npos || !value(inner.substr(0, slash), a) ||
        !value(inner.substr(slash + 1), b) || b <= 0)
      return Status::failure("cannot evaluate grid formula '" + f +
                             "' (is every dimension given?)");
    out = (a + b - 1) / b;
    return Status::success();
  }
  size_t minus = f.find('-', 1);
  if (minus != std::string::npos) { // "name-c": e.g. B = len(cu_seqlens) - 1
    int64_t a, b;
    if (!value(f.substr(0, minus), a) || !value(f.substr(minus + 1), b))
      return Status::failure("cannot evaluate grid formula '" + f +
                             "' (is every dimension given?)");
    out = a - b;
    return Status::success();
  }
  if (!value(f, out))
    return Status::failure("grid formula '" + f + "' names a dimension that "
                           "was not given");
  return Status::success();
}

Status parallax::rt::launchGrid(const KernelInfo &info,
                                const std::map<std::string, int64_t> &dims,
                                std::array<int64_t, 3> &grid) {
  const int64_t limit[3] = {2147483647, 65535, 65535};
  for (int d = 0; d < 3; ++d) {
    Status s = evalGrid(info.grid[d], dims, grid[d]);
    if (!s)
      return s;
    if (grid[d] < 0 || grid[d] > limit[d])
      return Status::failure("launch of " + info.entry + ": grid dimension " + "xyz"[d] +
                             " is " + std::to_string(grid[d]) + " (" + info.grid[d] +
                             ") but CUDA allows 0 to " + std::to_string(limit[d]));
  }
  return Status::success();
}

bool parallax::rt::oneRowMerge(const KernelInfo &info,
                               const std::map<std::string, int64_t> &dims) {
  if (info.oneRowMergeDim.empty())
    return false;
  auto it = dims.find(info.oneRowMergeDim);
  return it != dims.end() && it->second == 1;
}

parallax::rt::ClusterMerge
parallax::rt::clusterMergeFor(const KernelInfo &info,
                              const std::map<std::string, int64_t> &dims,
                              int64_t maxClusterSplits) {
  if (!info.clusterMerge ||
      (maxClusterSplits != kAutoClusterSplits && maxClusterSplits < kMaxClusterSplits))
    return ClusterMerge::None;
  return oneRowMerge(info, dims) ? ClusterMerge::OneRow : ClusterMerge::Rows;
}

int64_t parallax::rt::clusterSizeFor(const KernelInfo &info, const SplitLaunch &launch,
                                     int64_t maxSplits) {
  int64_t n = launch.numSplits;
  if (!info.clusterMerge || info.workspaceBytesPerCta <= 0 || n < 2 || n > kMaxClusterSplits)
    return 0;
  if (maxSplits != kAutoClusterSplits)
    return n <= maxSplits ? n : 0;
  if (n <= 2 || severalWaves(launch.ctas / n, launch.numSMs))
    return n;
  return launch.oneRow && launch.ctas > 0 && 2 * launch.ctas <= launch.numSMs ? n : 0;
}

bool parallax::rt::preferWideDecode(int64_t ctas, int64_t keysPerCta, int64_t numSMs) {
  return ctas > 0 && ctas <= numSMs && keysPerCta >= 8192;
}

int64_t parallax::rt::launchSharedBytes(int64_t sharedBytes, int64_t ctas,
                                        bool programmatic, int64_t numSMs,
                                        int64_t maxSharedPerCta,
                                        int64_t clusterSize) {
  if (programmatic && ctas <= numSMs && clusterSize <= 2 && maxSharedPerCta > sharedBytes)
    return maxSharedPerCta;
  return sharedBytes;
}

int64_t parallax::rt::chooseNumSplits(int64_t programs, int64_t keyTiles,
                                      int64_t numSMs, int64_t kvGroups,
                                      int64_t keysPerTile, ClusterMerge merge) {
  if (programs <= 0)
    return 1;
  int64_t keys = keyTiles * std::max<int64_t>(1, keysPerTile);
  if (severalWaves(programs, numSMs)) {
    // Several waves of CTAs that each stream a whole long cache end on a
    // partial wave of long CTAs, on SMs that stream at different speeds.
    // Shorter CTAs, merged on chip in clusters, let the CTA scheduler even
    // the SMs out. H200, B = 128 (1024 programs), against one CTA a program
    // (bench/sweep-h200-2026-12-01-multi-wave-splits.json): G = 1 L = 4096
    // in 4 -0.5%, L = 8192 in 4 -1.1%, L = 16384 in 8 -1.2%, L = 32768 in 8
    // -2.3% (B = 256, L = 16384 in 8 -1.3%); G = 4 and 8, whose merge is
    // dearer, L = 16384 in 2 -1.8%, L = 32768 in 4 -1.5 to -2.0%, L = 4096
    // in 2 +4%. B = 64 (1.94 waves) gained nothing.
    if (merge == ClusterMerge::OneRow && keys >= 4096)
      return std::min<int64_t>(kMaxClusterSplits, keys / 1024);
    if (merge == ClusterMerge::Rows && keys >= 16384)
      return std::min<int64_t>(4, keys / 8192);
    return 1;
  }
  // One CTA per SM streams close to the bandwidth a whole SM gets; more
  // splits only add partials for the last CTA to merge, and a second,
  // partly filled wave leaves SMs idle at the end. At least 4 key tiles per
  // warp group of a split; short caches may go down to 1 tile per group as
  // long as that stays at 8 splits or fewer (one merge step for the 4-group
  // decode kernels, whose slices are small); at most 16
  // splits. The best of the split counts timed on the H200
  // (bench/decode_sweep.py, docs/performance.md): B=1, L=512 ran 8.0 us
  // unsplit, 6.6 in 8 splits; L=1024 8.3 in 4, 7.5 in 8; L=2048 8.9 in 8,
  // 9.3 in 16.
  int64_t groups = std::max<int64_t>(1, kvGroups);
  int64_t want = std::max<int64_t>(1, numSMs / programs);
  int64_t byTiles = std::max<int64_t>(
      {1, keyTiles / (4 * groups), std::min<int64_t>(8, keyTiles / groups)});
  int64_t splits = std::max<int64_t>(1, std::min<int64_t>({want, byTiles, 16}));
  // The merge (workspace round trip, counter, the last CTA's pass) costs a
  // small grid about what streaming 300-400 keys does: split only when it
  // takes at least 384 keys off each CTA (H200: B=8, L=512 ran 9.3 us
  // unsplit, 9.7 in 2 splits merged in a cluster; B=1, L=512 in 8 splits
  // saves 448 keys a CTA and 1.4 us).
  int64_t saved = keyTiles - (keyTiles + splits - 1) / splits;
  if (saved * std::max<int64_t>(1, keysPerTile) < 384)
    return 1;
  // Merged on chip (each program one cluster that pushes its partials into
  // one CTA), 8 splits beat 16 through the workspace while a CTA streams
  // at most 512 keys: H200, B = 1 (G = 1), L = 3072 8.5 -> 7.7 us, L = 4096
  // 9.5 -> 9.1; at L = 6144 and 8192 half the SMs stream the keys too
  // slowly (12.0 against 11.5 us, 14.6 against 13.6).
  int64_t pushSplits = kMaxClusterSplits;
  if (merge == ClusterMerge::OneRow && splits > pushSplits &&
      (keyTiles + pushSplits - 1) / pushSplits * std::max<int64_t>(1, keysPerTile) <= 512 &&
      2 * programs * pushSplits <= numSMs)
    return pushSplits;
  return splits;
}

CacheOptions parallax::rt::defaultCacheOptions() {
  CacheOptions c;
  if (const char *d = std::getenv("PARALLAX_CACHE_DIR"))
    c.dir = d;
  else if (const char *h = std::getenv("HOME"))
    c.dir = std::string(h) + "/.cache/parallax";
  else
    c.dir = "/tmp/parallax-cache";
  if (const char *e = std::getenv("PARALLAX_CACHE"))
    c.enabled = std::string(e) != "0";
  return c;
}

std::string parallax::rt::cacheKey(const KernelInfo &info,
                                   const std::string &ptx, int deviceCC,
                                   int driverVersion) {
  std::string material = info.compiler + "\n" + info.raw + "\n" + info.chip +
                         "\n" + info.ptxVersion + "\n" + info.inputIrHash +
                         "\n" + ptx + "\nsm_" + std::to_string(deviceCC) +
                         "\ndriver " + std::to_string(driverVersion);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                (unsigned long long)fnv(material, 14695981039346656037ull),
                (unsigned long long)fnv(material, 0x84222325cbf29ce4ull));
  return buf;
}

Status parallax::rt::tensorMapShape(const Param &p, const std::map<std::string, int64_t> &dims,
                                    std::vector<int64_t> &shape) {
  shape.clear();
  for (size_t d = 0; d < p.tensorMap.shape.size(); ++d) {
    int64_t n = p.tensorMap.shape[d];
    if (n < 0) {
      std::string name = p.tensorMap.source + ".dim" + std::to_string(d);
      auto it = dims.find(name);
      if (it == dims.end())
        return Status::failure("tensor map '" + p.name + "': no value given for dimension '" +
                               name + "'");
      n = it->second;
    }
    shape.push_back(n);
  }
  return Status::success();
}
