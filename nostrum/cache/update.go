package cache

import (
	"github.com/gotp/gotp/nostrum/discord"
)

// Apply updates the cache from a gateway dispatch of shard (READY, GUILD_CREATE,
// GUILD_UPDATE, GUILD_DELETE, CHANNEL_CREATE, CHANNEL_DELETE). Other events are ignored.
// It reports an error for a payload it cannot decode; the cache is then unchanged.
func (c *Cache) Apply(shard int, typ, data string) error {
	switch typ {
	case "READY":
		var r struct {
			User   discord.User `json:"user"`
			Guilds []struct {
				ID discord.Snowflake `json:"id"`
			} `json:"guilds"`
		}
		if err := discord.DecodeJSON(data, &r); err != nil {
			return err
		}
		c.SetMe(r.User)
		for _, g := range r.Guilds {
			c.MarkUnavailable(g.ID, shard)
		}
	case "GUILD_CREATE", "GUILD_UPDATE":
		var g struct {
			ID          discord.Snowflake `json:"id"`
			Name        string            `json:"name"`
			Unavailable bool              `json:"unavailable"`
			Channels    []struct {
				ID discord.Snowflake `json:"id"`
			} `json:"channels"`
		}
		if err := discord.DecodeJSON(data, &g); err != nil {
			return err
		}
		if g.Unavailable {
			c.MarkUnavailable(g.ID, shard)
			return nil
		}
		guild := Guild{ID: g.ID, Name: g.Name}
		if typ == "GUILD_UPDATE" && g.Channels == nil {
			if old, ok := c.Guild(g.ID); ok {
				guild.Channels = old.Channels
			}
		}
		for _, ch := range g.Channels {
			guild.Channels = append(guild.Channels, ch.ID)
		}
		c.PutGuild(guild, shard)
	case "GUILD_DELETE":
		var g struct {
			ID          discord.Snowflake `json:"id"`
			Unavailable bool              `json:"unavailable"`
		}
		if err := discord.DecodeJSON(data, &g); err != nil {
			return err
		}
		if g.Unavailable {
			c.MarkUnavailable(g.ID, shard)
		} else {
			c.RemoveGuild(g.ID)
		}
	case "CHANNEL_CREATE", "CHANNEL_DELETE":
		var ch struct {
			ID      discord.Snowflake `json:"id"`
			GuildID discord.Snowflake `json:"guild_id"`
		}
		if err := discord.DecodeJSON(data, &ch); err != nil {
			return err
		}
		if ch.GuildID != 0 {
			c.updateChannel(ch.GuildID, ch.ID, typ == "CHANNEL_CREATE")
		}
	}
	return nil
}

func (c *Cache) updateChannel(guild, ch discord.Snowflake, add bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.guilds[guild]
	if !ok {
		return
	}
	kept := make([]discord.Snowflake, 0, len(g.Channels)+1)
	for _, id := range g.Channels {
		if id != ch {
			kept = append(kept, id)
		}
	}
	delete(c.channelGuild, ch)
	if add {
		kept = append(kept, ch)
		c.channelGuild[ch] = guild
	}
	g.Channels = kept
	c.guilds[guild] = g
}
