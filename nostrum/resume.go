package nostrum

import (
	"fmt"

	"github.com/gotp/gotp/internal/msgcheck"
	"github.com/vmihailenco/msgpack/v5"
)

// ResumeInfo is what another process needs to RESUME a shard's session. It never holds
// the token: the resuming process uses its own.
type ResumeInfo struct {
	ShardID    int    `msgpack:"shard_id"`
	ShardCount int    `msgpack:"shard_count"`
	SessionID  string `msgpack:"session_id"` // "" = no session: the shard IDENTIFYs
	ResumeURL  string `msgpack:"resume_url"`
	GatewayURL string `msgpack:"gateway_url"`
	// Seq is the committed sequence: every event up to it was handled, so the resuming
	// process gets exactly the ones after it.
	Seq int64 `msgpack:"seq"`
}

// EncodeResumeInfos encodes infos with msgpack.
func EncodeResumeInfos(infos []ResumeInfo) ([]byte, error) {
	b, err := msgpack.Marshal(infos)
	if err != nil {
		return nil, fmt.Errorf("nostrum: encoding resume infos: %w", err)
	}
	return b, nil
}

// DecodeResumeInfos decodes and checks what EncodeResumeInfos made.
// Its lengths and nesting are checked against the bytes present before decoding, so a few
// hostile bytes cannot make the decoder allocate what they claim.
func DecodeResumeInfos(b []byte) ([]ResumeInfo, error) {
	if err := msgcheck.Check(b); err != nil {
		return nil, fmt.Errorf("nostrum: decoding resume infos: %w", err)
	}
	var infos []ResumeInfo
	if err := msgpack.Unmarshal(b, &infos); err != nil {
		return nil, fmt.Errorf("nostrum: decoding resume infos: %w", err)
	}
	if err := validateResume(infos); err != nil {
		return nil, err
	}
	return infos, nil
}

func validateResume(infos []ResumeInfo) error {
	seen := map[int]bool{}
	for _, ri := range infos {
		if ri.ShardCount < 1 || ri.ShardID < 0 || ri.ShardID >= ri.ShardCount || ri.Seq < 0 {
			return fmt.Errorf("%w: resume info for shard %d of %d (seq %d)", ErrInvalidOptions, ri.ShardID, ri.ShardCount, ri.Seq)
		}
		if ri.ShardCount != infos[0].ShardCount {
			return fmt.Errorf("%w: resume infos disagree on the shard count (%d, %d)", ErrInvalidOptions, ri.ShardCount, infos[0].ShardCount)
		}
		if seen[ri.ShardID] {
			return fmt.Errorf("%w: two resume infos for shard %d", ErrInvalidOptions, ri.ShardID)
		}
		seen[ri.ShardID] = true
	}
	return nil
}
