// Package enginetest decides, inside a test, whether a real engine is there.
//
// A test that needs a real engine (a Kafka broker, Spark Connect,
// PostgreSQL) asks for the variable that points at it:
//
//	brokers := enginetest.Need(t, "DSGYM_KAFKA_BROKERS")
//
// When the variable is set, Need returns its value. When it is not, the test
// is skipped, unless DSGYM_REQUIRE_ENGINES is set (as make test and CI set
// it), in which case the test fails: a run that promised real engines must
// not pass by skipping them.
package enginetest

import (
	"os"
	"testing"
)

// RequireEnv is the variable that turns a missing engine from a skip into a
// failure.
const RequireEnv = "DSGYM_REQUIRE_ENGINES"

// Need returns the value of the environment variable env, which points at a
// real engine. Unset, it skips t, or fails it when RequireEnv is set.
func Need(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is not set, and %s says real engines are required (make test starts them; make test-fast skips them)", env, RequireEnv)
	}
	t.Skipf("%s is not set: this test needs the real engine (see the README's \"Real engines\" section)", env)
	return ""
}
