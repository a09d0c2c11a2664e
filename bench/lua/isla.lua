-- wrk script for the isla store's HTTP API.
--   wrk ... -s bench/lua/isla.lua http://127.0.5.N:5235 -- write|read KEYS VALUE_SIZE
-- write: PUT /api/kv/{key} {"value":"..."}
-- read : GET /api/kv/{key}   (linearizable by default)
-- Keys are picked uniformly at random.
local common = dofile((os.getenv("STORE_BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local requests = {}
local count = 0

function init(args)
  local op, keys, size = common.args(args)
  local value = common.value(size)
  for i = 0, keys - 1 do
    local path = "/api/kv/" .. common.key(i)
    if op == "write" then
      requests[i + 1] = wrk.format("PUT", path, { ["Content-Type"] = "application/json" },
        '{"value":"' .. value .. '"}')
    else
      requests[i + 1] = wrk.format("GET", path)
    end
  end
  count = keys
  common.seed()
end

function request()
  return requests[math.random(count)]
end
