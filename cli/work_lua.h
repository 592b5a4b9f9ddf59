/* work_lua.h: the Lua scripts `flurry work` runs in Redis (EVALSHA), each
 * one atomic step. Keys and values as work.h lists them. Internal. */
#ifndef FLURRY_CLI_WORK_LUA_H
#define FLURRY_CLI_WORK_LUA_H

/* store: a unit's records, and its acknowledgement, in one step.
 * KEYS: stream, results, done, dead, lasterr.
 * ARGV: group, entry id, kind ('r' a result, 'f' a retryable failure),
 *       max deliveries, the done key (the request's identity, or the entry
 *       id for a bad line), the line, then the records.
 * A request already done is only acknowledged (a redelivery, or the same
 * request enqueued twice, adds nothing). A failure delivered fewer than
 * max times keeps its last record and stays pending, for a worker to claim
 * it again; at max it goes to dead. Returns "r", "d" (dead), "retry" or
 * "dup". */
static const char work_lua_store[] =
    "local id, kind, done = ARGV[2], ARGV[3], ARGV[5]\n"
    "if redis.call('HEXISTS', KEYS[3], done) == 1 then\n"
    "  redis.call('XACK', KEYS[1], ARGV[1], id)\n"
    "  return 'dup'\n"
    "end\n"
    "local n = 1\n"
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)\n"
    "if p[1] then n = tonumber(p[1][4]) end\n"
    "if kind == 'f' and n < tonumber(ARGV[4]) then\n"
    "  if #ARGV >= 7 then redis.call('HSET', KEYS[5], id, ARGV[#ARGV]) end\n"
    "  return 'retry'\n"
    "end\n"
    "if kind == 'f' then\n"
    "  for i = 7, #ARGV do\n"
    "    redis.call('XADD', KEYS[4], '*', 'job', id, 'line', ARGV[6], 'deliveries', n,\n"
    "               'record', ARGV[i])\n"
    "  end\n"
    "  redis.call('HSET', KEYS[3], done, 'd')\n"
    "else\n"
    "  for i = 7, #ARGV do\n"
    "    redis.call('XADD', KEYS[2], '*', 'job', id, 'record', ARGV[i])\n"
    "  end\n"
    "  redis.call('HSET', KEYS[3], done, 'r')\n"
    "end\n"
    "if done ~= id then redis.call('HSET', KEYS[3], id, 'r') end\n"
    "redis.call('HDEL', KEYS[5], id)\n"
    "redis.call('XACK', KEYS[1], ARGV[1], id)\n"
    "return kind == 'f' and 'd' or 'r'\n";

/* claim: takes over entries pending longer than min-idle (XAUTOCLAIM);
 * those now delivered more than max times (a worker died on them each
 * time) go to dead with their last record, or ARGV[6] when there is none.
 * KEYS: stream, done, dead, lasterr.
 * ARGV: group, consumer, min-idle ms, count, max deliveries, record.
 * Returns the entries to work on, as XREADGROUP lists them. */
static const char work_lua_claim[] =
    "local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0',\n"
    "                     'COUNT', ARGV[4])\n"
    "local out = {}\n"
    "for _, e in ipairs(r[2]) do\n"
    "  local id = e[1]\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)\n"
    "  local n = 1\n"
    "  if p[1] then n = tonumber(p[1][4]) end\n"
    "  if redis.call('HEXISTS', KEYS[2], id) == 1 then\n"
    "    redis.call('XACK', KEYS[1], ARGV[1], id)\n"
    "  elseif n > tonumber(ARGV[5]) then\n"
    "    local line = ''\n"
    "    local f = e[2]\n"
    "    for i = 1, #f, 2 do if f[i] == 'line' then line = f[i + 1] end end\n"
    "    local rec = redis.call('HGET', KEYS[4], id) or ARGV[6]\n"
    "    redis.call('XADD', KEYS[3], '*', 'job', id, 'line', line, 'deliveries', n - 1,\n"
    "               'record', rec)\n"
    "    redis.call('HSET', KEYS[2], id, 'd')\n"
    "    redis.call('HDEL', KEYS[4], id)\n"
    "    redis.call('XACK', KEYS[1], ARGV[1], id)\n"
    "  else\n"
    "    out[#out + 1] = e\n"
    "  end\n"
    "end\n"
    "return out\n";

/* touch: keeps this worker's entries from looking abandoned: resets the
 * idle time of those it still owns (XCLAIM JUSTID: no delivery counted),
 * not of those another worker took over meanwhile.
 * KEYS: stream. ARGV: group, consumer, then entry ids. */
static const char work_lua_touch[] =
    "for i = 3, #ARGV do\n"
    "  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)\n"
    "  if p[1] and p[1][2] == ARGV[2] then\n"
    "    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* gcra: one start under a rate shared by every worker (the generic cell
 * rate algorithm: one timestamp per key, the theoretical arrival time).
 * KEYS: the rate's key. ARGV: the interval between starts (microseconds),
 * the burst (starts). Redis's clock, so every machine agrees; the key
 * expires a minute after it stops mattering. Returns 0 (start now) or the
 * microseconds to wait. */
static const char work_lua_gcra[] = "local t = redis.call('TIME')\n"
                                    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
                                    "local T = tonumber(ARGV[1])\n"
                                    "local tau = T * (tonumber(ARGV[2]) - 1)\n"
                                    "local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
                                    "if tat < now then tat = now end\n"
                                    "local wait = tat - tau - now\n"
                                    "if wait > 0 then return wait end\n"
                                    "local new = tat + T\n"
                                    "redis.call('SET', KEYS[1], string.format('%d', new), 'PX',\n"
                                    "           math.floor((new - now) / 1000) + 60000)\n"
                                    "return 0\n";

#endif
