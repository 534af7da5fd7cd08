-- wrk script of scripts/soak.sh: a mix of registry lookups, searches and closed-loop writes
-- against `bihuan serve`, paced to a fixed rate (0 = as fast as possible, for the peak).
--   wrk ... -s mix.lua -- RATE DATA_DIR TOKEN      (RATE: requests/s of each wrk thread)
-- DATA_DIR holds docs.txt (doc numbers), ids.txt (person ids), names.txt, grids.txt and
-- orders.txt ("order_id test_day" per line). Every status is counted by class; done() prints
-- them as "soak-status CLASS COUNT" lines for the script to check.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bihuan_timespec;
  int clock_gettime(int clk, bihuan_timespec* ts);
]]
local ts = ffi.new("bihuan_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  for l in io.lines(path) do
    if l ~= "" then out[#out + 1] = l end
  end
  assert(#out > 0, "empty " .. path)
  return out
end

local docs, ids, names, grids, orders, headers, json_headers
local interval, next_slot = 0, 0
counts = { c2 = 0, c3 = 0, c4 = 0, c5 = 0, other = 0 }

function init(args)
  local rate, dir, token = tonumber(args[1]), args[2], args[3]
  docs = lines(dir .. "/docs.txt")
  ids = lines(dir .. "/ids.txt")
  names = lines(dir .. "/names.txt")
  grids = lines(dir .. "/grids.txt")
  orders = {}
  for _, l in ipairs(lines(dir .. "/orders.txt")) do
    local id, day = l:match("^(%d+) (%S+)$")
    orders[#orders + 1] = { id = id, day = day }
  end
  headers = { ["Authorization"] = "Bearer " .. token }
  json_headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
  if rate and rate > 0 then interval = 1000 / rate end
  math.randomseed(1234 + (tid or 0))
end

local function pick(t) return t[math.random(#t)] end
local function enc(s) return (s:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", string.byte(c)) end)) end

function request()
  local r = math.random(100)
  if r <= 50 then
    return wrk.format("GET", "/api/persons?doc_number=" .. pick(docs), headers)
  elseif r <= 60 then
    return wrk.format("GET", "/api/persons/" .. pick(ids), headers)
  elseif r <= 68 then
    return wrk.format("GET", "/api/persons?name=" .. enc(pick(names)) .. "&limit=20", headers)
  elseif r <= 76 then
    return wrk.format("GET", "/api/persons?area=" .. pick(grids) .. "&limit=20", headers)
  elseif r <= 80 then
    return wrk.format("GET", "/api/loop/orders?status=active&limit=20", headers)
  elseif r <= 94 then
    local o = pick(orders)
    local t = string.format("%.1f", 36.0 + math.random() * 1.0)
    return wrk.format("POST", "/api/loop/orders/" .. o.id .. "/checks", json_headers, '{"temperature_c":' .. t .. '}')
  else
    local o = pick(orders)
    return wrk.format("POST", "/api/loop/orders/" .. o.id .. "/tests", json_headers,
      '{"day":"' .. o.day .. '","result":"negative"}')
  end
end

function delay()
  if interval <= 0 then return 0 end
  local t = now_ms()
  if next_slot < t then next_slot = t end
  local wait = next_slot - t
  next_slot = next_slot + interval
  return math.floor(wait)
end

function response(status)
  local c = math.floor(status / 100)
  if c == 2 then counts.c2 = counts.c2 + 1
  elseif c == 3 then counts.c3 = counts.c3 + 1
  elseif c == 4 then counts.c4 = counts.c4 + 1
  elseif c == 5 then counts.c5 = counts.c5 + 1
  else counts.other = counts.other + 1 end
end

function done(summary, latency, requests)
  local total = { c2 = 0, c3 = 0, c4 = 0, c5 = 0, other = 0 }
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for k, v in pairs(c) do total[k] = total[k] + v end
  end
  for _, k in ipairs({ "c2", "c3", "c4", "c5", "other" }) do
    io.write(string.format("soak-status %s %d\n", k, total[k]))
  end
  io.write(string.format("soak-rate %.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("soak-p99-ms %.2f\n", latency:percentile(99) / 1000))
  io.write(string.format("soak-errors %d\n", summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
