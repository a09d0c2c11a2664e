-- Shared by bench/lua/etcd.lua and bench/lua/isla.lua (loaded with dofile; wrk runs from the
-- repository root, or set STORE_BENCH_LUA_DIR). Defines the key and value every target uses,
-- base64 for etcd's JSON gateway, per-thread random seeds, and a done() hook that prints
-- wrk's latency percentiles in a line the bench script parses:
--   STORE-BENCH requests=N duration_us=N rps=F p50_us=N p90_us=N p99_us=N p999_us=N max_us=N
--               mean_us=F connect_err=N read_err=N write_err=N status_err=N timeout_err=N
local M = {}

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1) ..
        (b and alphabet:sub(c3 + 1, c3 + 1) or "=") .. (c and alphabet:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- Keys k00000 .. k{keys-1}; the same names as bench/store_tool.py's fill.
function M.key(i)
  return string.format("k%05d", i)
end

-- VALUE_SIZE bytes of printable ASCII (no JSON escaping needed), the same for both systems.
function M.value(size)
  local pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
  local reps = math.floor(size / #pattern) + 1
  return string.rep(pattern, reps):sub(1, size)
end

-- Parses "op keys value_size [extra]" from wrk's arguments after "--".
function M.args(args)
  local op = args[1]
  local keys = tonumber(args[2])
  local size = tonumber(args[3])
  if (op ~= "write" and op ~= "read") or not keys or keys < 1 or not size or size < 0 then
    error("usage: wrk ... -s SCRIPT URL -- write|read KEYS VALUE_SIZE [EXTRA]")
  end
  return op, keys, size, args[4]
end

-- Each wrk thread has its own Lua state; give each its own random sequence.
local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

function M.seed()
  local id = thread_id or 0
  math.randomseed(os.time() + id * 7919)
  for _ = 1, 10 do math.random() end
end

-- One pre-formatted request per key (format(i) builds key i's), sent in random order. The
-- global request() is defined here, at load time, so that wrk sees the script as dynamic;
-- each thread's init() fills the table with M.serve.
local prepared, prepared_count = {}, 0

function M.serve(keys, format)
  for i = 0, keys - 1 do prepared[i + 1] = format(i) end
  prepared_count = keys
  M.seed()
end

function request()
  return prepared[math.random(prepared_count)]
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "STORE-BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, summary.duration, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end

return M
