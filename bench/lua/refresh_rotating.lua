-- POST /api/auth/refresh/ with ROTATE_REFRESH_TOKENS on. Each wrk thread keeps a pool of the
-- seeded refresh tokens (every BENCH_THREADS-th one, so no token is in two pools); a request
-- spends one, and the successor in the answer goes back into the pool, so every token is
-- presented exactly once, as a well-behaved client does.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.load_data()
local pool = {}
local count_status = response

function init(args)
   local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
   local id = (thread_id or 1) - 1
   for n, token in ipairs(data.refresh) do
      if (n - 1) % threads == id then
         pool[#pool + 1] = token
      end
   end
end

function request()
   local token = table.remove(pool, 1)
   if token == nil then
      error("the pool of refresh tokens ran dry: fewer seeded sessions than connections?")
   end
   return wrk.format("POST", "/api/auth/refresh/",
      { ["Content-Type"] = "application/json" },
      '{"refresh":' .. bench.json_string(token) .. '}')
end

function response(status, headers, body)
   count_status(status, headers, body)
   local successor = body:match('"refresh":"([^"]+)"')
   if successor ~= nil then
      pool[#pool + 1] = successor
   end
end
