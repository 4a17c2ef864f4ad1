package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session, connection, writer and heartbeat goroutine must be gone after the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
