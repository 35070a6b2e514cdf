-- The attacker of the attack scenario: POST /api/auth/login/ with a wrong password for the first
-- seeded user, every request from one client address (X-Forwarded-For: BENCH_ATTACKER, believed
-- because the server trusts the proxy 127.0.0.1). The login back-off checks the few attempts it
-- lets through (401) and refuses the rest without a hash (429): both are expected, anything else
-- is an error.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local data = bench.load_data()
bench.expected = { [401] = true, [429] = true }

wrk.method = "POST"
wrk.path = "/api/auth/login/"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Forwarded-For"] = os.getenv("BENCH_ATTACKER") or "203.0.113.66"
wrk.body = '{"username":' .. bench.json_string(data.users[1])
   .. ',"password":"not-the-password-' .. (os.getenv("BENCH_RUN") or "x") .. '"}'
