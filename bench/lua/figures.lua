-- wrk script of bench/scaling.sh: each request GETs /api/figures/NAME with NAME drawn at
-- random from the comma-separated FIGURES environment variable (the whole catalogue), so that
-- the load spreads over every piece server that holds a figure rather than the two replicas
-- of one.
local names = {}
for name in string.gmatch(os.getenv("FIGURES") or "", "[^,]+") do
  names[#names + 1] = name
end
assert(#names > 0, "FIGURES is empty")

function setup(thread)
  math.randomseed(os.time() + tonumber(tostring(thread):match("0x(%x+)") or "0", 16) % 1000)
end

function request()
  return wrk.format("GET", "/api/figures/" .. names[math.random(#names)])
end
