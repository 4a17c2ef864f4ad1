package dist_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every endpoint, link, mesh and subscription goroutine ends with Close. memberlist's probe
// goroutine may outlive Shutdown by up to one probe timeout (its own, not ours).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"))
}
