-- wrk script for the isla store's HTTP API.
--   wrk ... -s bench/lua/isla.lua http://127.0.5.N:5235 -- write|read KEYS VALUE_SIZE
-- write: PUT /api/kv/{key} {"value":"..."}
-- read : GET /api/kv/{key}   (linearizable by default)
-- Keys are picked uniformly at random.
local common = dofile((os.getenv("STORE_BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

function init(args)
  local op, keys, size = common.args(args)
  local value = common.value(size)
  common.serve(keys, function(i)
    local path = "/api/kv/" .. common.key(i)
    if op == "write" then
      return wrk.format("PUT", path, { ["Content-Type"] = "application/json" },
        '{"value":"' .. value .. '"}')
    end
    return wrk.format("GET", path)
  end)
end
