package nostrum

import (
	"testing"

	"go.uber.org/goleak"
)

// Every shard, queue and supervisor goroutine must be gone after the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
