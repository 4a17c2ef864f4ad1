package fakediscord

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that Close leaves no goroutine of the fake behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
