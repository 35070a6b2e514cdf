-- GET /health: touches neither the database nor a hash; its req/s is the HTTP ceiling.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/health"
