-- POST /api/auth/refresh/ with a seeded refresh token in a JSON body, rotating over the users.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.load_data()
local requests = {}
local i = 0

function init(args)
   for n, token in ipairs(data.refresh) do
      requests[n] = wrk.format("POST", "/api/auth/refresh/",
         { ["Content-Type"] = "application/json" },
         '{"refresh":' .. bench.json_string(token) .. '}')
   end
   i = ((thread_id or 1) - 1) * 7919
end

function request()
   i = i + 1
   return requests[(i % #requests) + 1]
end
