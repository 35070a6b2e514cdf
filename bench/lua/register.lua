-- POST /api/auth/register/ with a new user per request. Usernames are
-- w<run><thread>n<counter>: the run id (random per harness run) and the thread id make them unique
-- across runs and threads, the counter within a thread.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local run = os.getenv("BENCH_RUN") or tostring(os.time())
local password = "Bench-pass-7f3k9Q2x"
local counter = 0
local prefix = nil

function init(args)
   prefix = "w" .. run .. "t" .. (thread_id or 0) .. "n"
end

function request()
   counter = counter + 1
   local username = prefix .. counter
   local body = '{"username":"' .. username .. '","email":"' .. username .. '@bench.example",'
      .. '"password":"' .. password .. '","password2":"' .. password .. '",'
      .. '"first_name":"Bench","last_name":"User","profile":{"phone":"5550100"}}'
   return wrk.format("POST", "/api/auth/register/", { ["Content-Type"] = "application/json" }, body)
end
