-- wrk script for etcd's JSON gateway (grpc-gateway).
--   wrk ... -s bench/lua/etcd.lua http://127.0.4.N:2379 -- write|read KEYS VALUE_SIZE API_PREFIX
-- write: POST {prefix}/kv/put   {"key":b64,"value":b64}
-- read : POST {prefix}/kv/range {"key":b64}   (linearizable: serializable defaults to false)
-- API_PREFIX is /v3 (etcd 3.4+) or /v3beta (3.3/3.4). Keys are picked uniformly at random.
local common = dofile((os.getenv("STORE_BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

function init(args)
  local op, keys, size, prefix = common.args(args)
  prefix = prefix or "/v3"
  local headers = { ["Content-Type"] = "application/json" }
  local value = common.b64(common.value(size))
  common.serve(keys, function(i)
    local key = common.b64(common.key(i))
    if op == "write" then
      return wrk.format("POST", prefix .. "/kv/put", headers,
        '{"key":"' .. key .. '","value":"' .. value .. '"}')
    end
    return wrk.format("POST", prefix .. "/kv/range", headers, '{"key":"' .. key .. '"}')
  end)
end
