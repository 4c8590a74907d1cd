package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/login-guard/login_guard/clients/smileid"
)

// SmileIDJobs is Smile ID's pending-jobs registry on Redis: a job
// submitted through one instance is confirmed, polled and completed
// through any other, and handed out once. Each job is one hash under a
// keyed hash of its id; the user id and state handle are sealed. Its
// size is bounded by Redis's maxmemory (a full Redis refuses Register
// with ErrRegistryFull) and each job's TTL.
type SmileIDJobs struct {
	c   *Conn
	ttl time.Duration
}

// NewSmileIDJobs returns the registry on c; jobs live ttl.
func NewSmileIDJobs(c *Conn, ttl time.Duration) *SmileIDJobs { return &SmileIDJobs{c: c, ttl: ttl} }

func (k *keyer) jobTag(jobID string) string { return k.hash(16, "smileid-job", jobID) }

func (k *keyer) jobKey(tag string) string { return k.prefix + "j{" + tag + "}" }

const luaJobTime = `#!lua
local function f(n) return string.format('%.0f', n) end
local function ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function terminal(st) return st == 'authenticated' or st == 'rejected' end
`

// jobRegister: KEYS job. ARGV ttl_ms, sealed user, sealed handle.
// Returns 1, or 0 when the job id is taken.
var jobRegister = newScript(luaJobTime + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now, ttl = ms(), tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'u', ARGV[2], 'h', ARGV[3], 'st', 'pending', 'ra', f(now), 'ea', f(now + ttl), 'cf', 0, 'cb', '')
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`)

// jobComplete: KEYS job. Returns {0} unknown, {1} not authenticated, or
// {2, fields} handed out (and deleted).
var jobComplete = newScript(luaJobTime + `
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return {0} end
if st ~= 'authenticated' then return {1} end
local e = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return {2, e}
`)

// jobSettle: KEYS job. ARGV state, code, text, smile job id. Returns {0}
// unknown or {1, changed, fields}.
var jobSettle = newScript(luaJobTime + `
local cur = redis.call('HGET', KEYS[1], 'st')
if not cur then return {0} end
if terminal(cur) then return {1, 0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'st', ARGV[1], 'rc', ARGV[2], 'rt', ARGV[3], 'sj', ARGV[4])
local changed = 0
if cur ~= ARGV[1] then changed = 1 end
return {1, changed, redis.call('HGETALL', KEYS[1])}
`)

// jobConfirm: KEYS job. ARGV budget. Returns {0} unknown, {1, fields}
// counted (or terminal), {2, fields} budget spent.
var jobConfirm = newScript(luaJobTime + `
local cur = redis.call('HGET', KEYS[1], 'st')
if not cur then return {0} end
if terminal(cur) then return {1, redis.call('HGETALL', KEYS[1])} end
if tonumber(redis.call('HGET', KEYS[1], 'cf') or '0') >= tonumber(ARGV[1]) then
  return {2, redis.call('HGETALL', KEYS[1])}
end
redis.call('HINCRBY', KEYS[1], 'cf', 1)
return {1, redis.call('HGETALL', KEYS[1])}
`)

// jobMarkCallback: KEYS job. ARGV digest (hex), how many to keep.
var jobMarkCallback = newScript(luaJobTime + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local cb = redis.call('HGET', KEYS[1], 'cb') or ''
local list = {}
for d in string.gmatch(cb, '[^,]+') do table.insert(list, d) end
table.insert(list, ARGV[1])
while #list > tonumber(ARGV[2]) do table.remove(list, 1) end
redis.call('HSET', KEYS[1], 'cb', table.concat(list, ','))
return 1
`)

// seenCallbacks matches the in-process registry's memory of callbacks.
const seenCallbacks = 4

func (j *SmileIDJobs) run(s *redis.Script, jobID string, args ...any) (any, *keyer, string, error) {
	var out any
	var kk *keyer
	var tag string
	err := j.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		kk, tag = k, k.jobTag(jobID)
		v, err := runOnce(ctx, cl, s, []string{k.jobKey(tag)}, args...).Result()
		out = v
		return err
	})
	return out, kk, tag, err
}

// entry reads a job's fields, as a script's flat HGETALL reply.
func (j *SmileIDJobs) entry(k *keyer, tag, jobID string, v any) (smileid.Entry, error) {
	flat, _ := v.([]any)
	m := make(map[string]string, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		key, _ := flat[i].(string)
		val, _ := flat[i+1].(string)
		m[key] = val
	}
	return j.entryOf(k, tag, jobID, m)
}

func (j *SmileIDJobs) entryOf(k *keyer, tag, jobID string, m map[string]string) (smileid.Entry, error) {
	user, err := k.open(tag, m["u"])
	if err != nil {
		return smileid.Entry{}, err
	}
	handle, err := k.open(tag, m["h"])
	if err != nil {
		return smileid.Entry{}, err
	}
	msec := func(s string) time.Time { n, _ := strconv.ParseInt(s, 10, 64); return time.UnixMilli(n) }
	return smileid.Entry{
		JobID: jobID, UserID: user, StateHandle: handle, State: smileid.State(m["st"]),
		ResultCode: m["rc"], ResultText: m["rt"], SmileJobID: m["sj"],
		RegisteredAt: msec(m["ra"]), ExpiresAt: msec(m["ea"]),
	}, nil
}

// Register implements smileid.Pending: ErrRegistryFull when Redis is at
// maxmemory; when Redis did not answer, ErrRegistryFull (the submission
// is refused as for a full registry) wrapping smileid.ErrStoreUnavailable.
func (j *SmileIDJobs) Register(jobID, userID, stateHandle string) error {
	if jobID == "" || len(jobID) > 128 || userID == "" || len(userID) > smileid.MaxUserIDLen || len(stateHandle) > smileid.MaxStateHandleLen {
		return fmt.Errorf("%w: job id, user id or state handle empty or too long", smileid.ErrInput)
	}
	var ok int64
	err := j.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		tag := k.jobTag(jobID)
		var err error
		ok, err = runOnce(ctx, cl, jobRegister, []string{k.jobKey(tag)}, j.ttl.Milliseconds(), k.seal(tag, userID), k.seal(tag, stateHandle)).Int64()
		return err
	})
	switch {
	case isOOM(err):
		return smileid.ErrRegistryFull
	case err != nil:
		return fmt.Errorf("%w: %w", smileid.ErrRegistryFull, jobsUnavailable(err))
	case ok == 0:
		return smileid.ErrDuplicateJob
	}
	return nil
}

// Lookup implements smileid.Pending: ErrUnknownJob for a job that is not
// there (or sealed under other keys), smileid.ErrStoreUnavailable when
// Redis did not answer.
func (j *SmileIDJobs) Lookup(jobID string) (smileid.Entry, error) {
	var e smileid.Entry
	var found bool
	err := j.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		tag := k.jobTag(jobID)
		m, err := cl.HGetAll(ctx, k.jobKey(tag)).Result()
		if err != nil || len(m) == 0 {
			return err
		}
		e, err = j.entryOf(k, tag, jobID, m)
		found = err == nil
		return nil
	})
	switch {
	case err != nil:
		return smileid.Entry{}, jobsUnavailable(err)
	case !found:
		return smileid.Entry{}, smileid.ErrUnknownJob
	}
	return e, nil
}

// jobsUnavailable is err, a failed round trip, as smileid.Pending says a
// store that did not answer.
func jobsUnavailable(err error) error {
	return fmt.Errorf("%w: %w", smileid.ErrStoreUnavailable, err)
}

// Status implements smileid.Pending.
func (j *SmileIDJobs) Status(jobID string) smileid.State {
	if e, err := j.Lookup(jobID); err == nil {
		return e.State
	}
	return smileid.StateUnknown
}

// Complete implements smileid.Pending.
func (j *SmileIDJobs) Complete(jobID string) (smileid.Entry, error) {
	v, k, tag, err := j.run(jobComplete, jobID)
	if err != nil {
		return smileid.Entry{}, jobsUnavailable(err)
	}
	r, _ := v.([]any)
	switch code(r) {
	case 1:
		return smileid.Entry{}, smileid.ErrNotAuthenticated
	case 2:
		return j.entry(k, tag, jobID, r[1])
	}
	return smileid.Entry{}, smileid.ErrUnknownJob
}

func code(r []any) int64 {
	if len(r) == 0 {
		return -1
	}
	n, _ := r[0].(int64)
	return n
}

// Remove implements smileid.Pending.
func (j *SmileIDJobs) Remove(jobID string) {
	_ = j.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		return cl.Del(ctx, k.jobKey(k.jobTag(jobID))).Err()
	})
}

// Settle implements smileid.Pending.
func (j *SmileIDJobs) Settle(jobID string, st smileid.State, rc, text, smileJobID string) (smileid.Entry, bool, error) {
	v, k, tag, err := j.run(jobSettle, jobID, string(st), rc, text, smileJobID)
	if err != nil {
		return smileid.Entry{}, false, jobsUnavailable(err)
	}
	r, _ := v.([]any)
	if code(r) != 1 || len(r) < 3 {
		return smileid.Entry{}, false, smileid.ErrUnknownJob
	}
	changed, _ := r[1].(int64)
	e, err := j.entry(k, tag, jobID, r[2])
	return e, changed == 1, err
}

// TakeConfirm implements smileid.Pending.
func (j *SmileIDJobs) TakeConfirm(jobID string, budget int) (smileid.Entry, error) {
	v, k, tag, err := j.run(jobConfirm, jobID, budget)
	if err != nil {
		return smileid.Entry{}, jobsUnavailable(err)
	}
	r, _ := v.([]any)
	if len(r) < 2 {
		return smileid.Entry{}, smileid.ErrUnknownJob
	}
	e, err := j.entry(k, tag, jobID, r[1])
	if err != nil {
		return smileid.Entry{}, err
	}
	if code(r) == 2 {
		return e, smileid.ErrTooManyConfirms
	}
	return e, nil
}

// SeenCallback implements smileid.Pending; a store failure is
// smileid.ErrStoreUnavailable (the callback is answered for a retry:
// nothing moves on a guess).
func (j *SmileIDJobs) SeenCallback(jobID string, digest [sha256.Size]byte) (bool, error) {
	var cb string
	err := j.c.call(context.Background(), func(ctx context.Context, cl redis.UniversalClient, k *keyer) error {
		v, err := cl.HGet(ctx, k.jobKey(k.jobTag(jobID)), "cb").Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		cb = v
		return err
	})
	if err != nil {
		return false, jobsUnavailable(err)
	}
	d := hex.EncodeToString(digest[:])
	for _, s := range strings.Split(cb, ",") {
		if s == d {
			return true, nil
		}
	}
	return false, nil
}

// MarkCallback implements smileid.Pending.
func (j *SmileIDJobs) MarkCallback(jobID string, digest [sha256.Size]byte) {
	_, _, _, _ = j.run(jobMarkCallback, jobID, hex.EncodeToString(digest[:]), seenCallbacks)
}

var _ smileid.Pending = (*SmileIDJobs)(nil)
