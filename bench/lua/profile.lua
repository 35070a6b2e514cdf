-- GET /api/auth/profile/ with a valid Bearer token, rotating over the seeded users.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.load_data()
local requests = {}
local i = 0

function init(args)
   for n, token in ipairs(data.access) do
      requests[n] = wrk.format("GET", "/api/auth/profile/", { ["Authorization"] = "Bearer " .. token })
   end
   -- Threads start at different users.
   i = ((thread_id or 1) - 1) * 7919
end

function request()
   i = i + 1
   return requests[(i % #requests) + 1]
end
