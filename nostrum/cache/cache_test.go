package cache

import (
	"testing"
)

func TestApplyAndSnapshotRestore(t *testing.T) {
	c := New()
	steps := []struct{ typ, data string }{
		{"READY", `{"user":{"id":"10","username":"bot","bot":true},"guilds":[{"id":"100","unavailable":true},{"id":"200","unavailable":true}]}`},
		{"GUILD_CREATE", `{"id":"100","name":"one","channels":[{"id":"1001"},{"id":"1002"}]}`},
		{"CHANNEL_CREATE", `{"id":"1003","guild_id":"100"}`},
		{"CHANNEL_DELETE", `{"id":"1001","guild_id":"100"}`},
		{"GUILD_UPDATE", `{"id":"100","name":"uno"}`},
		{"MESSAGE_CREATE", `{"id":"5"}`},
	}
	for _, s := range steps {
		if err := c.Apply(3, s.typ, s.data); err != nil {
			t.Fatalf("%s: %v", s.typ, err)
		}
	}
	check := func(c *Cache) {
		t.Helper()
		if me := c.Me(); me.ID != 10 || me.Username != "bot" || !me.Bot {
			t.Fatalf("me = %+v", me)
		}
		g, ok := c.Guild(100)
		if !ok || g.Name != "uno" || len(g.Channels) != 2 {
			t.Fatalf("guild = %+v", g)
		}
		if gid, ok := c.ChannelGuild(1003); !ok || gid != 100 {
			t.Fatal("channel 1003 not mapped to guild 100")
		}
		if _, ok := c.ChannelGuild(1001); ok {
			t.Fatal("deleted channel still mapped")
		}
		if s, ok := c.GuildShard(200); !ok || s != 3 {
			t.Fatal("guild 200 not on shard 3")
		}
		if !c.Unavailable(200) || c.Unavailable(100) {
			t.Fatal("unavailable set wrong")
		}
	}
	check(c)
	b, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New()
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
	check(r)
	if err := r.Restore([]byte{0xc1}); err == nil {
		t.Fatal("restore of garbage succeeded")
	}
	check(r) // unchanged after a failed restore
	if err := r.Apply(0, "GUILD_DELETE", `{"id":"100"}`); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Guild(100); ok {
		t.Fatal("guild not removed")
	}
	if err := r.Apply(0, "READY", `{`); err == nil {
		t.Fatal("bad READY accepted")
	}
}
