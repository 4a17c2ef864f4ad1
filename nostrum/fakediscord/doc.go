// Package fakediscord is a fake Discord server for tests: a gateway (v10, JSON,
// optional zlib-stream), the REST endpoints a bot needs (/api/v10/gateway,
// /gateway/bot, /users/@me, POST /channels/{id}/messages) and a control API,
// both in-process (the methods of *Server) and over HTTP under /_fake/.
//
// It behaves like Discord where Discord is documented (see
// shared/spec/nostrum-discord.md §2 and §4.9):
//
//   - Hello with heartbeat_interval; op 1 → op 11 (zombie mode stops ACKs); no
//     heartbeat for interval×1.5 → close 4000.
//   - IDENTIFY is validated: bad token 4004, unknown intent bits 4013,
//     disallowed intents 4014, shard out of range 4010, too many guilds per
//     shard 4011, second IDENTIFY 4005, payload other than heartbeat before
//     IDENTIFY/RESUME 4003, exhausted session_start_limit 4004. Identify
//     buckets (shard % max_concurrency) allow one IDENTIFY per IdentifyWindow;
//     a violation gets op 9 false.
//   - Every dispatch of a session gets the next sequence number and is kept in
//     the session's replay buffer even while no connection is attached. A
//     session survives a disconnect that is not a client close 1000/1001 for
//     SessionTTL (decided before the client's close frame is echoed, so a
//     client holding the echo can rely on Stats). RESUME replays s > seq in order then dispatches RESUMED (which
//     has its own sequence number); unknown, expired or too old sessions get op
//     9 false, a seq beyond the latest gets 4007. The resume_gateway_url points
//     at a second listener, and resumes are counted per listener URL.
//   - Every client payload counts toward the send limit (SendLimit per sliding
//     SendWindow per connection, 4008); payloads over 4096 bytes or bad JSON get
//     4002, unknown opcodes 4001.
//   - Guild events go to sessions whose shard is (guild_id>>22) % num_shards
//     (each session's own num_shards); DMs go to shard 0; several sessions on
//     one shard all receive them.
//   - Intents are honoured: MESSAGE_CREATE in guilds needs GUILD_MESSAGES (1<<9),
//     in DMs DIRECT_MESSAGES (1<<12); without MESSAGE_CONTENT (1<<15) the
//     content, embeds and attachments of other users' guild messages are blank.
//
// REST (under /api/v10, Authorization "Bot <token>" except GET /gateway):
// GET /gateway, GET /gateway/bot (session_start_limit is live), GET
// /users/@me, POST /channels/{id}/messages (401; 404 code 10003; 400 codes
// 50006, 50035, 50109; nonce + enforce_nonce returns the earlier message
// without a new event), GET /channels/{id}/messages?after=&before=&limit=
// (backfill over the last 1000 messages of the channel, newest first). Create-message responses carry X-RateLimit-Limit,
// -Remaining, -Reset, -Reset-After and -Bucket (one bucket id, counted per
// channel); an exhausted bucket gets 429 scope user, more than GlobalLimit
// requests in a second get 429 X-RateLimit-Global: true, scope global.
// Retry-After headers are decimal seconds ("0.250"), like the JSON retry_after.
//
// Control API (JSON; mirrors the Go methods):
//
//	GET  /_fake/stats | /_fake/messages | /_fake/dispatched | /_fake/world
//	POST /_fake/inject            {"channel_id","content"}
//	POST /_fake/event             {"shard"?,"t","d"}        (no shard: all)
//	POST /_fake/stream/start      {"per_second","channel_id"} → {"id"}
//	POST /_fake/stream/stop       {"id"}
//	POST /_fake/shards/{n}/reconnect | drop | heartbeat
//	POST /_fake/shards/{n}/invalidsession {"resumable"}
//	POST /_fake/shards/{n}/close  {"code"}
//	POST /_fake/shards/{n}/zombie {"on"}
//	POST /_fake/sessions/{id}/close {"code"} | /_fake/sessions/{id}/drop
//	POST /_fake/sessions/expire | /_fake/identify/reset
//	POST /_fake/heartbeat         {"interval_ms"}
//	POST /_fake/rest              {"shared_429","retry_after_ms","server_errors","latency_ms","op7_before_hello"}
//	                              (sets every knob: omitted ones become 0/false)
//
// Every window is configurable (Config) so tests can run scaled down; the
// defaults are Discord's real values. Config.Now injects a clock for the
// time-window decisions (session TTL, identify buckets, send limit, REST
// buckets); heartbeat timeouts use real timers.
package fakediscord
