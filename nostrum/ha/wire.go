package ha

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/gotp/gotp/internal/msgcheck"
	"github.com/gotp/gotp/nostrum"
)

// wireVersion is the version of the handoff and checkpoint encodings.
const wireVersion = 1

// ErrBadState is wrapped by every error decoding a handoff or a checkpoint.
var ErrBadState = errors.New("ha: malformed session state")

// state is what a handoff and a checkpoint carry (msgpack). Shards holds
// nostrum.EncodeResumeInfos bytes so that nostrum validates them on decode.
type state struct {
	V      int    `msgpack:"v"`
	Shards []byte `msgpack:"shards"`
	Cache  []byte `msgpack:"cache,omitempty"` // handoff only: the cache snapshot
	At     int64  `msgpack:"at"`              // unix nanoseconds when it was taken
}

// Handoff is the session state a running instance hands to the one taking it over.
type Handoff struct {
	Shards []nostrum.ResumeInfo // every shard's session, with its committed sequence
	Cache  []byte               // nostrum cache snapshot
	At     time.Time
}

// Checkpoint is the session state a running instance replicates for failover.
type Checkpoint struct {
	Shards []nostrum.ResumeInfo
	At     time.Time
}

// EncodeHandoff encodes h (msgpack); shards without a session are left out.
func EncodeHandoff(h Handoff) ([]byte, error) { return encode(h.Shards, h.Cache, h.At) }

// DecodeHandoff decodes and checks what EncodeHandoff made; errors wrap ErrBadState.
func DecodeHandoff(b []byte) (Handoff, error) {
	infos, cache, at, err := decode(b)
	return Handoff{Shards: infos, Cache: cache, At: at}, err
}

// EncodeCheckpoint encodes c (msgpack); shards without a session are left out.
func EncodeCheckpoint(c Checkpoint) ([]byte, error) { return encode(c.Shards, nil, c.At) }

// DecodeCheckpoint decodes and checks what EncodeCheckpoint made; errors wrap ErrBadState.
func DecodeCheckpoint(b []byte) (Checkpoint, error) {
	infos, _, at, err := decode(b)
	return Checkpoint{Shards: infos, At: at}, err
}

// encode keeps the shards that have a session (the others IDENTIFY wherever they start).
func encode(infos []nostrum.ResumeInfo, cache []byte, at time.Time) ([]byte, error) {
	infos = slices.DeleteFunc(slices.Clone(infos), func(ri nostrum.ResumeInfo) bool { return ri.SessionID == "" })
	sh, err := nostrum.EncodeResumeInfos(infos)
	if err != nil {
		return nil, err
	}
	b, err := msgpack.Marshal(&state{V: wireVersion, Shards: sh, Cache: cache, At: at.UnixNano()})
	if err != nil {
		return nil, fmt.Errorf("ha: encoding session state: %w", err)
	}
	return b, nil
}

func decode(b []byte) ([]nostrum.ResumeInfo, []byte, time.Time, error) {
	if err := msgcheck.Check(b); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	var s state
	if err := msgpack.Unmarshal(b, &s); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	if s.V != wireVersion {
		return nil, nil, time.Time{}, fmt.Errorf("%w: version %d, want %d", ErrBadState, s.V, wireVersion)
	}
	if err := msgcheck.Check(s.Shards); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("%w: shards: %v", ErrBadState, err)
	}
	infos, err := nostrum.DecodeResumeInfos(s.Shards)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("%w: %v", ErrBadState, err)
	}
	for _, ri := range infos {
		if ri.SessionID == "" {
			return nil, nil, time.Time{}, fmt.Errorf("%w: shard %d has no session id", ErrBadState, ri.ShardID)
		}
	}
	return infos, s.Cache, time.Unix(0, s.At), nil
}
