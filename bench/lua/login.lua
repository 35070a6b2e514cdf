-- POST /api/auth/login/ with a seeded user's credentials (JSON), rotating over the users.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.load_data()
local requests = {}
local i = 0

function init(args)
   for n, username in ipairs(data.users) do
      requests[n] = wrk.format("POST", "/api/auth/login/",
         { ["Content-Type"] = "application/json" },
         '{"username":' .. bench.json_string(username)
            .. ',"password":' .. bench.json_string(data.password) .. '}')
   end
   i = ((thread_id or 1) - 1) * 7919
end

function request()
   i = i + 1
   return requests[(i % #requests) + 1]
end
