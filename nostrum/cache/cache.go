// Package cache keeps the state a bot needs between events, in memory: the bot's own
// user, guilds, channel → guild, guild → shard, and unavailable guilds. Snapshot and
// Restore (msgpack) let a process that resumes a session — and so gets no READY or
// GUILD_CREATE — start with the state of the process it replaces.
package cache

import (
	"fmt"
	"maps"
	"sync"

	"github.com/gotp/gotp/internal/msgcheck"
	"github.com/gotp/gotp/nostrum/discord"
	"github.com/vmihailenco/msgpack/v5"
)

// Guild is a cached guild.
type Guild struct {
	ID       discord.Snowflake   `msgpack:"id"`
	Name     string              `msgpack:"name"`
	Channels []discord.Snowflake `msgpack:"channels"`
}

// Cache is safe for concurrent use. The zero value is not usable; call New.
type Cache struct {
	mu           sync.RWMutex
	me           discord.User
	guilds       map[discord.Snowflake]Guild
	channelGuild map[discord.Snowflake]discord.Snowflake
	guildShard   map[discord.Snowflake]int
	unavailable  map[discord.Snowflake]struct{}
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{
		guilds:       map[discord.Snowflake]Guild{},
		channelGuild: map[discord.Snowflake]discord.Snowflake{},
		guildShard:   map[discord.Snowflake]int{},
		unavailable:  map[discord.Snowflake]struct{}{},
	}
}

// Me returns the bot's user (from READY), zero before.
func (c *Cache) Me() discord.User {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.me
}

// SetMe stores the bot's user.
func (c *Cache) SetMe(u discord.User) {
	c.mu.Lock()
	c.me = u
	c.mu.Unlock()
}

// Guild returns a cached guild.
func (c *Cache) Guild(id discord.Snowflake) (Guild, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	g, ok := c.guilds[id]
	return g, ok
}

// Guilds returns the number of cached guilds.
func (c *Cache) Guilds() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.guilds)
}

// PutGuild stores an available guild of shard, its channels, and clears its unavailability.
// It reports whether the guild was unavailable before (GUILD_CREATE after READY's stubs).
func (c *Cache) PutGuild(g Guild, shard int) (wasUnavailable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.guilds[g.ID]; ok {
		for _, ch := range old.Channels {
			delete(c.channelGuild, ch)
		}
	}
	c.guilds[g.ID] = g
	for _, ch := range g.Channels {
		c.channelGuild[ch] = g.ID
	}
	c.guildShard[g.ID] = shard
	_, wasUnavailable = c.unavailable[g.ID]
	delete(c.unavailable, g.ID)
	return wasUnavailable
}

// MarkUnavailable records a guild of shard as unavailable (READY stubs, outages).
func (c *Cache) MarkUnavailable(id discord.Snowflake, shard int) {
	c.mu.Lock()
	c.unavailable[id] = struct{}{}
	c.guildShard[id] = shard
	c.mu.Unlock()
}

// RemoveGuild forgets a guild the bot left.
func (c *Cache) RemoveGuild(id discord.Snowflake) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.guilds[id]; ok {
		for _, ch := range g.Channels {
			delete(c.channelGuild, ch)
		}
	}
	delete(c.guilds, id)
	delete(c.guildShard, id)
	delete(c.unavailable, id)
}

// Unavailable reports whether a guild is known to be unavailable.
func (c *Cache) Unavailable(id discord.Snowflake) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.unavailable[id]
	return ok
}

// ChannelGuild returns the guild of a channel.
func (c *Cache) ChannelGuild(ch discord.Snowflake) (discord.Snowflake, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	g, ok := c.channelGuild[ch]
	return g, ok
}

// GuildShard returns the shard that receives a guild's events.
func (c *Cache) GuildShard(g discord.Snowflake) (int, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.guildShard[g]
	return s, ok
}

// snapshot is the msgpack form of a cache.
type snapshot struct {
	Version     int                         `msgpack:"v"`
	Me          discord.User                `msgpack:"me"`
	Guilds      map[discord.Snowflake]Guild `msgpack:"guilds"`
	GuildShard  map[discord.Snowflake]int   `msgpack:"guild_shard"`
	Unavailable []discord.Snowflake         `msgpack:"unavailable"`
}

// Snapshot encodes the whole cache.
func (c *Cache) Snapshot() ([]byte, error) {
	c.mu.RLock()
	s := snapshot{Version: 1, Me: c.me, Guilds: maps.Clone(c.guilds), GuildShard: maps.Clone(c.guildShard)}
	for id := range c.unavailable {
		s.Unavailable = append(s.Unavailable, id)
	}
	c.mu.RUnlock()
	b, err := msgpack.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("cache: snapshot: %w", err)
	}
	return b, nil
}

// Restore replaces the cache's contents with a snapshot. The snapshot's lengths and nesting
// are checked against the bytes present before decoding, so a few hostile bytes cannot make
// the decoder allocate what they claim; on any error the cache is left as it was.
func (c *Cache) Restore(b []byte) error {
	if err := msgcheck.Check(b); err != nil {
		return fmt.Errorf("cache: restore: %w", err)
	}
	var s snapshot
	if err := msgpack.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("cache: restore: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("cache: restore: snapshot version %d not supported", s.Version)
	}
	n := New()
	n.me = s.Me
	for id, g := range s.Guilds {
		n.guilds[id] = g
		for _, ch := range g.Channels {
			n.channelGuild[ch] = id
		}
	}
	maps.Copy(n.guildShard, s.GuildShard)
	for _, id := range s.Unavailable {
		n.unavailable[id] = struct{}{}
	}
	c.mu.Lock()
	c.me, c.guilds, c.channelGuild, c.guildShard, c.unavailable = n.me, n.guilds, n.channelGuild, n.guildShard, n.unavailable
	c.mu.Unlock()
	return nil
}
