-- SPDX-License-Identifier: GPL-2.0
-- wrk for a number of responses rather than a time (tests/bench/lib.sh's
-- wrk_count):
--
--   wrk ... -s wrk_count.lua URL -- PER_THREAD THREADS DONE_FILE
--
-- Each thread stops at its PER_THREAD-th response and adds a line to
-- DONE_FILE; the thread that adds the THREADS-th line sends wrk the
-- SIGINT that ends it (wrk's main thread otherwise sleeps out -d), and
-- wrk prints its report as usual.  Debian's wrk is built on LuaJIT, whose
-- ffi reaches getpid() and kill().
local ffi = require("ffi")
ffi.cdef [[
int getpid(void);
int kill(int pid, int sig);
]]

local quota, threads, done_file
local count = 0

function init(args)
   quota = tonumber(args[1])
   threads = tonumber(args[2])
   done_file = args[3]
end

function response()
   count = count + 1
   if count ~= quota then
      return
   end
   wrk.thread:stop()
   local f = assert(io.open(done_file, "a"))
   f:write("done\n")
   f:close()
   -- Appends are atomic: the last thread to append sees every line.
   local n = 0
   for _ in io.lines(done_file) do
      n = n + 1
   end
   if n >= threads then
      ffi.C.kill(ffi.C.getpid(), 2)
   end
end
